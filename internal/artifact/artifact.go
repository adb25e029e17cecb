// Package artifact reads model and data artifacts named by URI (file://,
// http://, https://, s3://bucket/key, or a plain local path where allowed)
// and refuses any whose sha256 differs from the digest the spec pins. Both
// `rai serve` and `rai evaluate` fetch through it, so the rule "nothing
// unverified is used" lives in one place. Remote artifacts are kept by
// digest in the cache EnvCacheDir names, if any; s3:// URIs are read with
// the configuration of the environment (S3ConfigFromEnv).
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrDigestMismatch is returned when an artifact's content does not match
// its pinned sha256.
var ErrDigestMismatch = errors.New("sha256 mismatch")

// DownloadTimeout bounds one HTTP download.
var DownloadTimeout = 10 * time.Minute

// IsURI reports whether s names an artifact by URI rather than local path.
func IsURI(s string) bool {
	return strings.HasPrefix(s, "file://") || isRemote(s)
}

// isRemote reports whether uri names an artifact that is downloaded (and
// cached).
func isRemote(uri string) bool {
	return strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "s3://")
}

// checkDigest validates a hex sha256 and returns it lowercased.
func checkDigest(sha string) (string, error) {
	want := strings.ToLower(sha)
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("sha256 %q is not 64 hexadecimal digits", sha)
	}
	return want, nil
}

// Open opens the artifact at uri for reading: file:///abs/path, http://,
// https:// or s3://bucket/key. The caller closes it. It never consults the
// cache.
func Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("artifact URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("artifact URI %q: file URIs name a local path (file:///path)", uri)
		}
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, fmt.Errorf("open %q: %w", uri, err)
		}
		return f, nil
	case "http", "https":
		ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("fetch %q: %w", uri, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("fetch %q: %w", uri, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cancel()
			return nil, fmt.Errorf("fetch %q: HTTP %s", uri, resp.Status)
		}
		return cancelOnClose{resp.Body, cancel}, nil
	case "s3":
		return openS3(ctx, uri)
	default:
		return nil, fmt.Errorf("artifact URI %q: scheme %q not supported (want file://, http://, https:// or s3://)", uri, u.Scheme)
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Fetch reads the whole artifact at uri, at most maxBytes, and returns it
// only if its sha256 is wantSHA256. A remote artifact comes from the cache
// when it holds the digest, and is added to it otherwise.
func Fetch(ctx context.Context, uri, wantSHA256 string, maxBytes int64) ([]byte, error) {
	want, err := checkDigest(wantSHA256)
	if err != nil {
		return nil, err
	}
	var c *cache
	if isRemote(uri) {
		c = cacheFromEnv()
	}
	if data, ok := c.read(want, maxBytes); ok {
		return data, nil
	}
	data, err := fetch(ctx, uri, want, maxBytes)
	if err != nil {
		return nil, err
	}
	c.storeBytes(want, data)
	return data, nil
}

func fetch(ctx context.Context, uri, want string, maxBytes int64) ([]byte, error) {
	body, err := Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", uri, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%q is larger than %d bytes", uri, maxBytes)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("%q has sha256 %s, expected %s: %w", uri, got, want, ErrDigestMismatch)
	}
	return data, nil
}

// Localize makes the artifact available as a local file and returns its
// path. A URI is streamed into dir (hashing as it goes, so large data sets
// never sit in memory) and the file is removed again if its digest is
// wrong; a remote artifact the cache holds is copied from it (and checked)
// instead, and one it does not is added to it. A plain path is used in place. When wantSHA256 is empty a URI is
// refused (a remote artifact must be pinned) and a local path is not
// checked.
func Localize(ctx context.Context, uriOrPath, wantSHA256, dir string) (string, error) {
	if !IsURI(uriOrPath) {
		if wantSHA256 == "" {
			return uriOrPath, nil
		}
		want, err := checkDigest(wantSHA256)
		if err != nil {
			return "", err
		}
		got, err := FileSHA256(uriOrPath)
		if err != nil {
			return "", err
		}
		if got != want {
			return "", fmt.Errorf("%q has sha256 %s, expected %s: %w", uriOrPath, got, want, ErrDigestMismatch)
		}
		return uriOrPath, nil
	}
	if wantSHA256 == "" {
		return "", fmt.Errorf("%q: a sha256 is required for an artifact named by URI", uriOrPath)
	}
	want, err := checkDigest(wantSHA256)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(uriOrPath)
	name := filepath.Base(u.Path)
	if name == "." || name == "/" || name == "" {
		name = "artifact"
	}
	var c *cache
	if isRemote(uriOrPath) {
		c = cacheFromEnv()
	}
	if path, ok := c.copyTo(want, dir, name); ok {
		return path, nil
	}
	path, err := download(ctx, uriOrPath, want, dir, name)
	if err != nil {
		return "", err
	}
	c.storeFile(want, path)
	return path, nil
}

// download streams uri into a new file in dir and returns its path if its
// sha256 is want.
func download(ctx context.Context, uriOrPath, want, dir, name string) (string, error) {
	body, err := Open(ctx, uriOrPath)
	if err != nil {
		return "", err
	}
	defer body.Close()
	f, err := os.CreateTemp(dir, "*-"+name)
	if err != nil {
		return "", fmt.Errorf("localize %q: %w", uriOrPath, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("localize %q: %w", uriOrPath, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		os.Remove(f.Name())
		return "", fmt.Errorf("%q has sha256 %s, expected %s: %w", uriOrPath, got, want, ErrDigestMismatch)
	}
	return f.Name(), nil
}

// FileSHA256 returns the hex sha256 of a local file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
