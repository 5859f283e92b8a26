package rpc

import (
	"fmt"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// timerLoop runs a connection's clock: it declares the connection dead
// when no frame arrived for DeadAfter, pings when nothing arrived for
// ProbeInterval, and sends BUSY for requests still being served every
// BusyInterval.
func (c *connImpl) timerLoop() {
	defer c.ioWG.Done()
	t := time.NewTicker(c.cfg.tick())
	defer t.Stop()
	lastTick := time.Now()
	var lastPing time.Time
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		now := time.Now()
		if now.Sub(lastTick) > c.cfg.DeadAfter/2 {
			// We were stopped or starved ourselves: what the peer sent is
			// waiting in the socket. Give it a fresh DeadAfter.
			c.touch()
		}
		lastTick = now
		idle := c.sinceRecv()
		if idle > c.cfg.DeadAfter {
			c.die(fmt.Sprintf("no frame from the peer for %v", idle.Round(time.Millisecond)), nil)
			return
		}
		if idle >= c.cfg.ProbeInterval && now.Sub(lastPing) >= c.cfg.ProbeInterval {
			lastPing = now
			c.sendCtrl(proto.FramePing, proto.OpPing, c.pingSeq.Add(1))
		}
		c.sendBusy(now)
	}
}

// sendBusy sends a keepalive for each request whose handler has run for
// BusyInterval since its last one. (Queued requests get none: pings keep
// the connection alive, and there may be many of them.)
func (c *connImpl) sendBusy(now time.Time) {
	type busy struct {
		id uint64
		op proto.Op
	}
	var due []busy
	c.mu.Lock()
	for id, sv := range c.serving {
		if sv.started && now.Sub(sv.lastBusy) >= c.cfg.BusyInterval {
			sv.lastBusy = now
			due = append(due, busy{id, sv.req.Op})
		}
	}
	c.mu.Unlock()
	for _, b := range due {
		c.sendCtrl(proto.FrameBusy, b.op, b.id)
	}
}
