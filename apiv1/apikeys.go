package apiv1

import "github.com/shiplog/shiplog"

// APIKeyInput is POST /api-keys/.
type APIKeyInput struct {
	Name string `json:"name"`
}

// APIKey is an org API key as the API shows it. Key, the full
// sk_<org>_<key_id>_<secret>, is present once: in the answer that created it.
type APIKey struct {
	*shiplog.APIKey
	Key string `json:"key,omitempty"`
}

// TokenInput is POST /tokens/.
type TokenInput struct {
	Name string `json:"name"`
}

// PersonalToken is a personal access token as the API shows it. Token,
// the full pat_<token_id>_<secret>, is present once: in the answer that
// created it.
type PersonalToken struct {
	*shiplog.Token
	Text string `json:"token,omitempty"`
}

// PasswordChangeInput is POST /account/password.
type PasswordChangeInput struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// PasswordResetInput is POST /account/reset-password: the token from a
// reset link and the new password.
type PasswordResetInput struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}
