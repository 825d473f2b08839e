package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shiplog/shiplog/internal/secrets"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

type backupCmd struct {
	File  string `arg:"" name:"file" help:"Where to write the copy. The secret key goes beside it, to FILE.key."`
	Force bool   `name:"force" help:"Replace FILE and FILE.key if they exist."`
	dbFlag
}

// pgBackupHelp is the answer for PostgreSQL, whose own tools do this better.
const pgBackupHelp = `shiplog backup copies SQLite databases only. For PostgreSQL use pg_dump, for example:
    pg_dump --format=custom --file=shiplog.dump "$SHIPLOG_DB"
and keep the server's --secret-key (SHIPLOG_SECRET_KEY) with the dump: Slack URLs and webhook secrets are sealed with it, and a restore without it cannot send to those channels (docs/operations.md)`

func (c *backupCmd) Run(env *Env) error {
	switch {
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
		return errors.New(pgBackupHelp)
	case !strings.HasPrefix(c.DB, "sqlite:"):
		return fmt.Errorf("unsupported database URL: use sqlite://PATH (for PostgreSQL, pg_dump; see docs/operations.md)")
	}
	src, err := sqlite.PathFromURL(c.DB)
	if err != nil {
		return err
	}
	b := &backup{src: src, dst: c.File, force: c.Force}
	if err := b.run(env); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Wrote %s (%d bytes): a consistent copy of %s, integrity checked.\n", b.dst, b.size, b.src)
	if b.keyCopied {
		fmt.Fprintf(env.Stdout, "Wrote %s (mode 0600): the secret key that opens the copy's Slack URLs and webhook secrets. Keep it with the backup, as safely as a password.\n", b.dst+".key")
	}
	fmt.Fprintf(env.Stdout, "To restore it: stop shiplog, delete %[1]s-wal and %[1]s-shm if present, copy %[2]s to %[1]s and %[2]s.key to %[1]s.key, start shiplog (docs/operations.md).\n",
		b.src, b.dst)
	return nil
}

// backup is one run of the backup command.
type backup struct {
	src, dst  string
	force     bool
	size      int64
	keyCopied bool
}

func (b *backup) run(env *Env) (err error) {
	if err := b.checkPaths(); err != nil {
		return err
	}
	dir := filepath.Dir(b.dst)
	// Everything is written beside FILE under temporary names and renamed
	// into place at the end, so FILE is either absent or complete.
	tmpDB, err := tempFile(dir, filepath.Base(b.dst))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmpDB)
		}
	}()
	if err := sqlite.Backup(env.Ctx, b.src, tmpDB); err != nil {
		return err
	}
	st, err := os.Stat(tmpDB)
	if err != nil {
		return err
	}
	b.size = st.Size()

	tmpKey, err := b.copyKey(dir, env.Stderr)
	if err != nil {
		return err
	}
	if tmpKey != "" {
		defer func() {
			if err != nil {
				os.Remove(tmpKey)
			}
		}()
		// The key first: a FILE that exists always has its key beside it.
		if err := os.Rename(tmpKey, b.dst+".key"); err != nil {
			return err
		}
		b.keyCopied = true
	}
	if err := os.Rename(tmpDB, b.dst); err != nil {
		return err
	}
	return syncDir(dir)
}

// checkPaths refuses to write over the live database or its companions,
// and over an earlier backup unless --force.
func (b *backup) checkPaths() error {
	if strings.HasSuffix(b.dst, string(filepath.Separator)) || b.dst == "" {
		return fmt.Errorf("backup FILE %q names a directory; give a file name such as shiplog-backup.db", b.dst)
	}
	srcAbs, err := filepath.Abs(b.src)
	if err != nil {
		return err
	}
	dstAbs, err := filepath.Abs(b.dst)
	if err != nil {
		return err
	}
	for _, live := range []string{srcAbs, srcAbs + "-wal", srcAbs + "-shm", srcAbs + "-journal", srcAbs + ".key"} {
		for _, out := range []string{dstAbs, dstAbs + ".key"} {
			if out == live || sameFile(out, live) {
				return fmt.Errorf("backup FILE %s would overwrite the live database's %s; write the copy elsewhere", b.dst, live)
			}
		}
	}
	for _, out := range []string{b.dst, b.dst + ".key"} {
		st, err := os.Stat(out)
		switch {
		case err == nil && st.IsDir():
			return fmt.Errorf("%s is a directory; give a file name such as %s", out, filepath.Join(out, "shiplog-backup.db"))
		case err == nil && !b.force:
			return fmt.Errorf("%s already exists; pass --force to replace it", out)
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	return nil
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// copyKey writes the database's key file to a temporary file in dir and
// returns its name, or "" (with a note on stderr) when there is no key file.
func (b *backup) copyKey(dir string, stderr io.Writer) (string, error) {
	keyFile := b.src + ".key"
	raw, err := os.ReadFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "note: no key file at %s. If the server runs with --secret-key (SHIPLOG_SECRET_KEY), keep that key with this backup: without it the copy's Slack URLs and webhook secrets cannot be opened.\n", keyFile)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// Copy only a key the server could use; never print it.
	if _, err := secrets.ParseKey(string(raw)); err != nil {
		return "", fmt.Errorf("key file %s: %w", keyFile, err)
	}
	tmp, err := tempFile(dir, filepath.Base(b.dst)+".key")
	if err != nil {
		return "", err
	}
	if err := writeSynced(tmp, raw); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// tempFile creates an empty file (mode 0600) named after base in dir.
func tempFile(dir, base string) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the renames durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
