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
