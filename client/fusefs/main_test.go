package fusefs_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/coda-fs/coda/client/venustest"
)

func TestMain(m *testing.M) {
	venustest.MaybeRunHelper(helpers)
	os.Exit(m.Run())
}

// helpers run in child processes (see venustest.Command): they touch the
// mounts, which the test process serves.
var helpers = venustest.Helpers{
	"writeread":      writeRead,
	"hold":           hold,
	"venus":          runVenusHelper,
	"mmapwrite":      mmapWrite,
	"mmapafterclose": mmapAfterClose,
	"rename":         func(args []string) error { return os.Rename(args[0], args[1]) },
}

// writeRead writes a new content through one mount (args[0]) and reads it
// back at once through another (args[1]), args[2] times, checking the
// content and the size stat reports.
func writeRead(args []string) error {
	n, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		want := fmt.Sprintf("round %d %s\n", i, make([]byte, i%97))
		if err := os.WriteFile(args[0], []byte(want), 0o644); err != nil {
			return fmt.Errorf("round %d: write: %w", i, err)
		}
		st, err := os.Stat(args[1])
		if err != nil {
			return fmt.Errorf("round %d: stat: %w", i, err)
		}
		got, err := os.ReadFile(args[1])
		if err != nil {
			return fmt.Errorf("round %d: read: %w", i, err)
		}
		if string(got) != want || st.Size() != int64(len(want)) {
			return fmt.Errorf("round %d: stale: read %d bytes %q (stat size %d), want %d bytes %q",
				i, len(got), got, st.Size(), len(want), want)
		}
	}
	return nil
}

// hold opens args[0], prints what it reads, waits for a line on stdin,
// then reads the same descriptor again from the start and prints that.
func hold(args []string) error {
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	fmt.Printf("%q\n", b)
	os.Stdout.Sync()
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	b, err = io.ReadAll(io.NewSectionReader(f, 0, 1<<30))
	if err != nil {
		return err
	}
	fmt.Printf("%q\n", b)
	return nil
}
