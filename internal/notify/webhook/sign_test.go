package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/notify/webhook"
)

// The Standard Webhooks spec's published test vector, from
// github.com/standard-webhooks/standard-webhooks libraries/go/webhook_test.go
// (TestWebhookSign, commit 449485caf9c0303530c19524fbe4096680aafcf1); Hook0
// reproduces the same vector.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = int64(1614265330)
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignStandardVector(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{vectorSecret, strings.TrimPrefix(vectorSecret, "whsec_")} {
		got, err := webhook.SignStandard(secret, vectorMsgID, vectorTimestamp, []byte(vectorBody))
		if err != nil {
			t.Fatal(err)
		}
		if got != vectorSignature {
			t.Errorf("SignStandard(%q) = %q, want %q", secret, got, vectorSignature)
		}
	}
}

func TestSignStandardErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, secret, msgID string }{
		{"secret not base64", "whsec_!!!", vectorMsgID},
		{"empty secret", "whsec_", vectorMsgID},
		{"empty id", vectorSecret, ""},
		{"dot in id", vectorSecret, "msg.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := webhook.SignStandard(tt.secret, tt.msgID, vectorTimestamp, nil); err == nil {
				t.Error("want error")
			}
		})
	}
}

func vectorHeader(sig string, ts int64) http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorMsgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	now := time.Unix(vectorTimestamp, 0)
	other := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	tests := []struct {
		name   string
		header http.Header
		body   string
		now    time.Time
		ok     bool
	}{
		{"vector", vectorHeader(vectorSignature, vectorTimestamp), vectorBody, now, true},
		{"rotation: any token may match", vectorHeader(other+" v1a,xyz "+vectorSignature, vectorTimestamp), vectorBody, now, true},
		{"within tolerance", vectorHeader(vectorSignature, vectorTimestamp), vectorBody, now.Add(webhook.StandardTolerance), true},
		{"too old", vectorHeader(vectorSignature, vectorTimestamp), vectorBody, now.Add(webhook.StandardTolerance + time.Second), false},
		{"too new", vectorHeader(vectorSignature, vectorTimestamp), vectorBody, now.Add(-webhook.StandardTolerance - time.Second), false},
		{"tampered body", vectorHeader(vectorSignature, vectorTimestamp), `{"test": 2432232315}`, now, false},
		{"wrong signature", vectorHeader(other, vectorTimestamp), vectorBody, now, false},
		{"wrong version", vectorHeader("v2,"+strings.TrimPrefix(vectorSignature, "v1,"), vectorTimestamp), vectorBody, now, false},
		{"missing headers", http.Header{}, vectorBody, now, false},
		{"bad timestamp", func() http.Header {
			h := vectorHeader(vectorSignature, vectorTimestamp)
			h.Set("webhook-timestamp", "soon")
			return h
		}(), vectorBody, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.VerifyStandard(vectorSecret, tt.header, []byte(tt.body), tt.now)
			if tt.ok && err != nil {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrVerification) {
				t.Fatalf("err = %v, want ErrVerification", err)
			}
		})
	}
}

func TestSignVersioner(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/event/deployment_completed.json")
	if err != nil {
		t.Fatal(err)
	}
	// Expected values were computed once at development time with the seed's
	// own Python receiver code, over the golden file's bytes:
	//   "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
	// so a change to the golden file needs them recomputed the same way.
	tests := []struct{ secret, want string }{
		{"s3cr3t", "sha256=e71de58776439cfe18c3aecfc8b19018b2db48c39123c79c9157fc905d8505d2"},
		{"pässwörd 🔑", "sha256=7d4e84801a7a33263d53d663aa6209ecafe86828e3a252ed87f60ac9a4effc56"},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			t.Parallel()
			if got := webhook.SignVersioner(tt.secret, body); got != tt.want {
				t.Errorf("SignVersioner = %s, want %s", got, tt.want)
			}
			if !webhook.VerifyVersioner(tt.secret, body, tt.want) {
				t.Error("VerifyVersioner rejected the expected signature")
			}
			if webhook.VerifyVersioner(tt.secret, slices.Concat(body, []byte(" ")), tt.want) {
				t.Error("VerifyVersioner accepted a modified body")
			}
			if webhook.VerifyVersioner("other", body, tt.want) {
				t.Error("VerifyVersioner accepted the wrong secret")
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	body := []byte(vectorBody)
	now := time.Unix(vectorTimestamp, 0)
	tests := []struct {
		name    string
		scheme  webhook.Scheme
		secret  string
		want    map[string]string // "" means the header must be absent
		wantErr bool
	}{
		{
			name: "versioner unsigned", scheme: webhook.SchemeVersioner,
			want: map[string]string{"X-Versioner-Signature": "", "Webhook-Signature": "", "Webhook-Timestamp": ""},
		},
		{
			name: "versioner signed", scheme: webhook.SchemeVersioner, secret: "s3cr3t",
			want: map[string]string{"X-Versioner-Signature": webhook.SignVersioner("s3cr3t", body), "Webhook-Signature": ""},
		},
		{
			name: "standard webhooks", scheme: webhook.SchemeStandard, secret: vectorSecret,
			want: map[string]string{
				"X-Versioner-Signature": "",
				"Webhook-Timestamp":     strconv.FormatInt(vectorTimestamp, 10),
				"Webhook-Signature":     vectorSignature,
			},
		},
		{name: "standard webhooks without secret", scheme: webhook.SchemeStandard, wantErr: true},
		{name: "unknown scheme", scheme: "hmac-md5", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := webhook.Headers("deployment.completed", vectorMsgID, tt.scheme, tt.secret, body, now)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			common := map[string]string{
				"Content-Type":      "application/json",
				"User-Agent":        "shiplog-webhooks/1",
				"X-Versioner-Event": "deployment.completed",
				"Webhook-Id":        vectorMsgID,
			}
			for k, want := range common {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tt.want {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestHeadersRetryKeepsIDAndResigns(t *testing.T) {
	t.Parallel()
	body := []byte(vectorBody)
	first := time.Unix(vectorTimestamp, 0)
	retry := first.Add(time.Hour)
	h1, err := webhook.Headers("build.failed", "dlv_1", webhook.SchemeStandard, vectorSecret, body, first)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := webhook.Headers("build.failed", "dlv_1", webhook.SchemeStandard, vectorSecret, body, retry)
	if err != nil {
		t.Fatal(err)
	}
	if h1.Get("Webhook-Id") != h2.Get("Webhook-Id") {
		t.Error("webhook-id changed between attempts")
	}
	if h1.Get("Webhook-Signature") == h2.Get("Webhook-Signature") {
		t.Error("retry reused the first attempt's signature")
	}
	// A receiver verifying the retry at its own time accepts it.
	if err := webhook.VerifyStandard(vectorSecret, h2, body, retry); err != nil {
		t.Errorf("verify retry: %v", err)
	}
	if _, err := webhook.Headers("build.failed", "", webhook.SchemeVersioner, "", body, first); err == nil {
		t.Error("empty delivery id: want error")
	}
}

func TestValidateSecret(t *testing.T) {
	t.Parallel()
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name   string
		scheme webhook.Scheme
		secret string
		ok     bool
	}{
		{"versioner any", webhook.SchemeVersioner, "anything", true},
		{"versioner empty", webhook.SchemeVersioner, "", true},
		{"standard vector", webhook.SchemeStandard, vectorSecret, true},
		{"standard generated", webhook.SchemeStandard, webhook.NewStandardSecret(), true},
		{"standard without prefix", webhook.SchemeStandard, strings.TrimPrefix(vectorSecret, "whsec_"), false},
		{"standard too short", webhook.SchemeStandard, short, false},
		{"standard not base64", webhook.SchemeStandard, "whsec_***", false},
		{"unknown scheme", "plain", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := webhook.ValidateSecret(tt.scheme, tt.secret); (err == nil) != tt.ok {
				t.Errorf("ValidateSecret = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if a, b := webhook.NewStandardSecret(), webhook.NewStandardSecret(); a == b {
		t.Error("NewStandardSecret repeated itself")
	}
}
