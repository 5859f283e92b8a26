package rpc

import (
	"context"
	"crypto/tls"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// BenchmarkCallSmall measures one small call's round trip over TLS on
// loopback, one caller at a time and many in parallel.
func BenchmarkCallSmall(b *testing.B) {
	e := newEnv(b, Config{}, echoMux(), nil)
	c := e.dial(Config{}, nil)
	ctx := context.Background()
	req := &proto.Lookup{Dir: proto.FID{Volume: 1, Vnode: 1, Unique: 1}, Name: "name"}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		var r proto.RootVolume
		for i := 0; i < b.N; i++ {
			if err := c.Call(ctx, proto.OpLookup, req, &r, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			var r proto.RootVolume
			for pb.Next() {
				if err := c.Call(ctx, proto.OpLookup, req, &r, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

type discardSink struct{}

func (discardSink) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }
func (discardSink) Finish(int64) error                       { return nil }

const benchFileSize = 64 << 20

// BenchmarkDownload streams a 64 MiB file from server memory to a sink
// that drops it: the wire's throughput (TLS, framing, checksums).
func BenchmarkDownload(b *testing.B) {
	data := make([]byte, benchFileSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	m := echoMux()
	m.Handle(proto.OpFetch, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		return &proto.AttrReply{}, &Source{R: bytesReaderAt(data), Size: int64(len(data))}, nil
	})
	e := newEnv(b, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	runTransfer(b, func() error {
		return c.Call(context.Background(), proto.OpFetch, &proto.FIDReq{}, &proto.AttrReply{}, &CallOpts{Download: discardSink{}})
	})
}

// BenchmarkUpload streams a 64 MiB file from client memory to a handler
// that drops it.
func BenchmarkUpload(b *testing.B) {
	data := make([]byte, benchFileSize)
	m := echoMux()
	m.Handle(proto.OpStore, func(ctx context.Context, req *Request) (proto.Message, *Source, error) {
		_, err := req.Data.Receive(discardSink{})
		return nil, nil, err
	})
	e := newEnv(b, Config{}, m, nil)
	c := e.dial(Config{}, nil)
	runTransfer(b, func() error {
		return c.Call(context.Background(), proto.OpStore, &proto.Store{}, nil,
			&CallOpts{Upload: &Source{R: bytesReaderAt(data), Size: int64(len(data))}})
	})
}

// runTransfer runs one untimed transfer (to warm up the socket buffers),
// then b.N timed ones, and reports MB/s and the CPU time per GB.
func runTransfer(b *testing.B, transfer func() error) {
	if err := transfer(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchFileSize)
	b.ReportAllocs()
	start := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := transfer(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	used := cpuTime() - start
	gb := float64(benchFileSize) * float64(b.N) / 1e9
	b.ReportMetric(float64(used.Milliseconds())/gb, "cpu-ms/GB")
}

// cpuTime is the process's CPU time. Both ends of the connection run in
// this process, so CPU per byte survives a busy machine better than
// wall-clock throughput does: with 2 cores the best throughput is about
// 2000/(cpu-ms/GB) GB/s.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bytesReaderAt reads from a byte slice.
type bytesReaderAt []byte

func (r bytesReaderAt) ReadAt(p []byte, off int64) (int, error) { return copy(p, r[off:]), nil }

// BenchmarkRawTLS is the ceiling BenchmarkDownload is measured against:
// 64 MiB written over a bare TLS 1.3 connection on loopback in 1 MiB
// writes, read in 1 MiB reads, no framing or checksums.
func BenchmarkRawTLS(b *testing.B) {
	srv, cli := testPKI(b)
	cli.MinVersion, srv.MinVersion = tls.VersionTLS13, tls.VersionTLS13
	l, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- 0
			return
		}
		defer c.Close()
		n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, make([]byte, 1<<20))
		got <- n
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), cli)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	write := func() error {
		for j := 0; j < benchFileSize/len(buf); j++ {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
	runTransfer(b, write)
	c.Close()
	if n := <-got; n != benchFileSize*int64(b.N+1) {
		b.Fatalf("received %d bytes", n)
	}
}
