package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
)

// EnvCacheDir names a directory, usually node-local (a hostPath the
// operator mounts), that keeps remote artifacts by digest: a pod that needs
// a digest already there reads it instead of downloading it again, so a
// rollout or a restart of the same model, or every evaluation of the same
// dataset, downloads it once per node. Entries are checked against their
// digest on every read (a corrupt one is removed and downloaded again), and
// only verified bytes are ever used: the cache saves downloads, it is not
// trusted.
const EnvCacheDir = contract.EnvArtifactCache

// cache is a directory of files named sha256/<hex digest>, each written
// under a temporary name and renamed into place once verified, so a reader
// never sees a partial entry and concurrent writers of one digest agree.
type cache struct{ dir string }

// cacheFromEnv returns the cache EnvCacheDir names, or nil.
func cacheFromEnv() *cache {
	dir := os.Getenv(EnvCacheDir)
	if dir == "" {
		return nil
	}
	return &cache{dir: dir}
}

func (c *cache) path(digest string) string { return filepath.Join(c.dir, "sha256", digest) }

// read returns the entry's bytes if it exists, fits maxBytes and has the
// digest. A corrupt entry is removed.
func (c *cache) read(digest string, maxBytes int64) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	f, err := os.Open(c.path(digest))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil || int64(len(data)) > maxBytes {
		return nil, false
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != digest {
		c.evict(digest)
		return nil, false
	}
	c.touch(digest)
	return data, true
}

// copyTo copies the entry into a new file in dir, hashing as it goes, and
// returns the copy's path if the digest matched. The copy, not the shared
// entry, is what the caller reads: nothing can change it after the check.
func (c *cache) copyTo(digest, dir, name string) (string, bool) {
	if c == nil {
		return "", false
	}
	src, err := os.Open(c.path(digest))
	if err != nil {
		return "", false
	}
	defer src.Close()
	dst, err := os.CreateTemp(dir, "*-"+name)
	if err != nil {
		return "", false
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(dst, h), src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil || hex.EncodeToString(h.Sum(nil)) != digest {
		os.Remove(dst.Name())
		if err == nil {
			c.evict(digest)
		}
		return "", false
	}
	c.touch(digest)
	return dst.Name(), true
}

// store adds verified content under its digest. It is best effort: an
// unwritable cache costs a download next time, never a failure now.
func (c *cache) store(digest string, content io.Reader) {
	if c == nil {
		return
	}
	dir := filepath.Dir(c.path(digest))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Printf("artifact cache: %v (not caching sha256 %s)", err, digest)
		return
	}
	f, err := os.CreateTemp(dir, ".tmp-"+digest+"-*")
	if err != nil {
		log.Printf("artifact cache: %v (not caching sha256 %s)", err, digest)
		return
	}
	_, err = io.Copy(f, content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o444)
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path(digest))
	}
	if err != nil {
		os.Remove(f.Name())
		log.Printf("artifact cache: store sha256 %s: %v", digest, err)
		return
	}
	c.trim(digest)
}

// DefaultCacheMaxBytes bounds a cache directory unless EnvCacheMaxBytes
// says otherwise.
const DefaultCacheMaxBytes = 20 << 30

// EnvCacheMaxBytes overrides DefaultCacheMaxBytes (a number of bytes).
const EnvCacheMaxBytes = "RAI_ARTIFACT_CACHE_MAX_BYTES"

func cacheMaxBytes() int64 {
	if v := os.Getenv(EnvCacheMaxBytes); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
		log.Printf("artifact cache: %s=%q is not a positive number of bytes; using %d", EnvCacheMaxBytes, v, int64(DefaultCacheMaxBytes))
	}
	return DefaultCacheMaxBytes
}

// touch marks an entry used, for trim's least-recently-used order.
func (c *cache) touch(digest string) {
	now := time.Now()
	_ = os.Chtimes(c.path(digest), now, now)
}

// trim removes the least recently used entries, keep aside, until the
// directory's entries fit cacheMaxBytes. A pod reading a removed entry
// keeps its open file; the next one downloads it again.
func (c *cache) trim(keep string) {
	dir := filepath.Dir(c.path(keep))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			// Left by a pod that died while storing.
			if time.Since(info.ModTime()) > time.Hour {
				os.Remove(filepath.Join(dir, e.Name()))
			}
			continue
		}
		all = append(all, entry{e.Name(), info.Size(), info.ModTime()})
		total += info.Size()
	}
	limit := cacheMaxBytes()
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= limit {
			break
		}
		if e.name == keep {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.name)); err == nil || os.IsNotExist(err) {
			total -= e.size
		}
	}
}

func (c *cache) storeBytes(digest string, data []byte) { c.store(digest, bytes.NewReader(data)) }

func (c *cache) storeFile(digest, path string) {
	if c == nil {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		log.Printf("artifact cache: %v", err)
		return
	}
	defer f.Close()
	c.store(digest, f)
}

func (c *cache) evict(digest string) {
	if err := os.Remove(c.path(digest)); err != nil && !os.IsNotExist(err) {
		log.Printf("artifact cache: remove corrupt entry sha256 %s: %v", digest, err)
	}
}

// CachedPath returns the path of digest's entry in the cache EnvCacheDir
// names, and whether it is there (unverified): for tests and diagnostics.
func CachedPath(digest string) (string, bool) {
	c := cacheFromEnv()
	if c == nil {
		return "", false
	}
	p := c.path(digest)
	_, err := os.Stat(p)
	return p, err == nil
}
