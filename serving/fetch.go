package serving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// MaxModelBytes bounds a model download; the project's tabular models are far smaller.
const MaxModelBytes = 2 << 30

// FetchModel reads the model at uri (file:///abs/path, http:// or https://) and returns its bytes
// only if their sha256 is wantSHA256 (64 hex digits, any case). Nothing else is accepted: a model
// that does not match is never loaded.
func FetchModel(ctx context.Context, uri, wantSHA256 string) ([]byte, error) {
	want := strings.ToLower(wantSHA256)
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("sha256 %q is not 64 hexadecimal digits", wantSHA256)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("model URI %q: %w", uri, err)
	}
	var body io.ReadCloser
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("model URI %q: file URIs name a local path (file:///path)", uri)
		}
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, fmt.Errorf("open model %q: %w", uri, err)
		}
		body = f
	case "http", "https":
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return nil, fmt.Errorf("fetch model %q: %w", uri, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch model %q: %w", uri, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("fetch model %q: HTTP %s", uri, resp.Status)
		}
		body = resp.Body
	default:
		return nil, fmt.Errorf("model URI %q: scheme %q not supported (want file://, http:// or https://)", uri, u.Scheme)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, MaxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read model %q: %w", uri, err)
	}
	if len(data) > MaxModelBytes {
		return nil, fmt.Errorf("model %q is larger than %d bytes", uri, MaxModelBytes)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("model %q has sha256 %s, expected %s: refusing to load it", uri, got, want)
	}
	return data, nil
}
