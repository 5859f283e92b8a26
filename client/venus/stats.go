package venus

import (
	"sync/atomic"

	"github.com/coda-fs/coda/server/proto"
)

// counters are updated without locks.
type counters struct {
	rpc          [proto.OpMax]atomic.Int64
	reads        atomic.Int64 // Read calls served by venus (no passthrough)
	writes       atomic.Int64 // Write calls served by venus
	fetchedBytes atomic.Int64
	storedBytes  atomic.Int64
	evictions    atomic.Int64
	resolves     atomic.Int64 // resolve requests sent
	emulated     atomic.Int64 // updates applied to the cache alone (disconnected)
	reintegrated atomic.Int64 // logged updates the servers applied
	openHits     atomic.Int64 // opens served from the cache
	openMisses   atomic.Int64 // opens that fetched the file
}

func (c *counters) countRPC(op proto.Op) {
	if op < proto.OpMax {
		c.rpc[op].Add(1)
	}
}

// Stats is a snapshot of venus's counters.
type Stats struct {
	RPCs         map[proto.Op]int64 // requests sent, per op
	Reads        int64              // reads served by venus (0 with passthrough)
	Writes       int64              // writes served by venus (0 with passthrough)
	FetchedBytes int64
	StoredBytes  int64
	Evictions    int64
	Emulated     int64 // updates made while disconnected
	Reintegrated int64 // of those, the ones the servers took
	CMLRecords   int   // logged updates waiting for the servers
	CachedBytes  int64 // allocated bytes of all containers
	OpenFiles    int
	Objects      int
}

// RPC returns the number of requests of op in s.
func (s Stats) RPC(op proto.Op) int64 { return s.RPCs[op] }

// TotalRPCs is the number of requests of every op in s.
func (s Stats) TotalRPCs() int64 {
	var n int64
	for _, c := range s.RPCs {
		n += c
	}
	return n
}

// Stats returns a snapshot of the counters.
func (v *Venus) Stats() Stats {
	s := Stats{RPCs: map[proto.Op]int64{}}
	for op := range v.stats.rpc {
		if n := v.stats.rpc[op].Load(); n != 0 {
			s.RPCs[proto.Op(op)] = n
		}
	}
	s.Reads = v.stats.reads.Load()
	s.Writes = v.stats.writes.Load()
	s.FetchedBytes = v.stats.fetchedBytes.Load()
	s.StoredBytes = v.stats.storedBytes.Load()
	s.Emulated = v.stats.emulated.Load()
	s.Reintegrated = v.stats.reintegrated.Load()
	v.mu.Lock()
	for _, vol := range v.vols {
		s.CMLRecords += len(vol.cml)
	}
	s.Evictions = v.stats.evictions.Load()
	s.CachedBytes = v.cachedBytes
	s.OpenFiles = v.openFiles
	s.Objects = len(v.objs)
	v.mu.Unlock()
	return s
}
