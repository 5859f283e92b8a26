package fusefs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coda-fs/coda/client/venustest"
)

// mkFiles creates args[1] empty files in directory args[0] with args[2]
// workers.
func mkFiles(args []string) error {
	n, _ := strconv.Atoi(args[1])
	workers, _ := strconv.Atoi(args[2])
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f, err := os.Create(filepath.Join(args[0], fmt.Sprintf("entry-%06d", i)))
				if err != nil {
					errc <- err
					return
				}
				f.Close()
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func TestDebugBigDir(t *testing.T) {
	srv := venustest.NewServer(t)
	v := venustest.Start(t, srv, venustest.Options{})
	os.Mkdir(v.Path("big"), 0o755)
	t0 := time.Now()
	venustest.RunHelper(t, "mkfiles", v.Path("big"), "5000", "8")
	t.Log("create", time.Since(t0))
	t.Log(v.Core.Stats())
}
