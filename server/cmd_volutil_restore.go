package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/server/adminclient"
	"github.com/coda-fs/coda/server/progress"
)

func newVolutilRestoreCommand(o *volutilCmdOptions) *cli.Command {
	var files, servers cli.StringSlice
	return &cli.Command{
		Name:      "restore",
		Usage:     "make a new volume from a full dump and its incrementals",
		UsageText: "coda volutil [-h SCM] restore [-f FILE]... [--servers SERVER,...] NAME",
		Description: `Creates volume NAME (createvol_rep: replicas on the SERVERs, default the -h server; run
against the SCM) and fills every replica from a dump chain: a full dump, then any number of
incrementals, each against a dump before it, read from the FILEs in order or from standard
input (one stream may hold the whole chain, one dump after another; compressed or not). The
order is checked: a chain that does not start with a full dump, or an incremental whose base
is not before it, is refused. A restore that fails removes the volume again (purgevol_rep),
and one cut short (volutil killed, its machine or network gone) is removed by the SCM when
the connection ends, or when the SCM starts: no half-made volume is left. Mount the result
with "coda cfs mkm DIR NAME".

EXAMPLES:
   coda volutil restore -f web-0.dump -f web-1.dump -f web-2.dump web.restored
   cat web-0.dump web-1.dump | coda volutil restore web.restored
   coda volutil -h scm restore --servers fs1,fs2,fs3 -f web-0.dump.zst web`,
		HideHelp: true,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "f", Destination: &files, Usage: "read a dump from `FILE` (repeat, in chain order)"},
			&cli.StringSliceFlag{Name: "servers", Destination: &servers, Usage: "put replicas on these `SERVER`s (ids or HOST:PORT)"},
			helpFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("volutil restore: need exactly one NAME")
			}
			return runRestore(c.Context, *o, c.Args().First(), files.Value(), servers.Value(), c.App.Writer, c.App.ErrWriter)
		},
	}
}

func runRestore(ctx context.Context, o volutilCmdOptions, name string, files, servers []string, w, stderr io.Writer) (err error) {
	fail := func(err error) error { return fmt.Errorf("volutil restore %s: %w", name, err) }
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return fail(err)
		}
	}
	if len(files) == 0 { // standard input: kept in a file if several replicas read it
		if len(servers) > 1 {
			tmp, err := os.CreateTemp("", "coda-restore-*")
			if err != nil {
				return fail(err)
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			if _, err := io.Copy(tmp, os.Stdin); err != nil {
				return fail(err)
			}
			files = []string{tmp.Name()}
		}
	}
	scm, err := o.dial(ctx)
	if err != nil {
		return fail(err)
	}
	defer scm.Close()
	if len(servers) == 0 {
		servers = []string{scm.ServerAddr()}
	}
	info, err := scm.CreateRestoringVolume(ctx, name, servers) // purged by the SCM if we die
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err != nil {
			if perr := scm.PurgeVolumeRep(context.WithoutCancel(ctx), name); perr != nil {
				err = fmt.Errorf("%w (and removing the half-made volume failed: %v; run purgevol_rep %s)", err, perr, name)
			}
		}
	}()
	var dumps uint32
	var objects uint64
	total := chainSize(files)
	for _, rep := range info.Replicas {
		in, closeIn, err := chainInput(files)
		if err != nil {
			return fail(err)
		}
		bar := progress.New(stderr, fmt.Sprintf("restore %s on server %d", name, rep.ServerID), total, progress.IsTerminal(stderr))
		in = &countingReader{r: in, bar: bar}
		c, err := adminclient.Dial(ctx, rep.Addr, o.KeyFile, o.CAFile)
		if err == nil {
			dumps, objects, err = c.Restore(ctx, info.ID, in)
			c.Close()
		}
		closeIn()
		if err != nil {
			return fail(fmt.Errorf("server %d (%s): %w", rep.ServerID, rep.Addr, err))
		}
		bar.Finish()
	}
	if err = scm.RestoreDone(ctx, name); err != nil {
		return fail(err)
	}
	_, err = fmt.Fprintf(w, "%s (%x) restored from %d dumps: %d objects on each of %d servers\n", name, info.ID, dumps, objects, len(info.Replicas))
	return err
}

// chainInput opens the files one after another, each decompressed if it
// is compressed (so that compressed and plain dumps mix), or standard
// input.
func chainInput(files []string) (io.Reader, func(), error) {
	if len(files) == 0 {
		return os.Stdin, func() {}, nil
	}
	var rs []io.Reader
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, func() { f.Close() })
		br := bufio.NewReaderSize(f, 1<<20)
		var r io.Reader = br
		if head, _ := br.Peek(4); bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			zr, err := zstd.NewReader(br)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			closers = append(closers, zr.Close)
			r = zr
		}
		rs = append(rs, r)
	}
	return io.MultiReader(rs...), closeAll, nil
}

// countingReader reports the bytes read through it (the compressed file
// bytes when the dumps are compressed: what the files' sizes measure).
type countingReader struct {
	r   io.Reader
	n   int64
	bar *progress.Bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.bar.Set(c.n)
	return n, err
}

// chainSize is the bytes the chain in files holds once read, for the
// progress report: 0 (unknown) for standard input or a compressed file.
func chainSize(files []string) int64 {
	var total int64
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return 0
		}
		var magic [4]byte
		_, err = io.ReadFull(f, magic[:])
		st, serr := f.Stat()
		f.Close()
		if err != nil || serr != nil || magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd} {
			return 0
		}
		total += st.Size()
	}
	return total
}
