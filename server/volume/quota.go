package volume

import (
	"fmt"

	"github.com/coda-fs/coda/server/proto"
)

// SetStatus sets the replica's quota (KB; 0: none) and messages, those
// set names (proto.SetQuota, SetMOTD, SetOffline). A quota below what the
// volume holds is allowed: stores that grow it fail until it shrinks.
func (v *Volume) SetStatus(req *proto.SetVolumeStatus) (proto.VolumeInfo, error) {
	if req.Quota < 0 {
		return proto.VolumeInfo{}, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("a quota of %d KB", req.Quota))
	}
	v.mu.Lock()
	h := v.hdr
	if req.Set&proto.SetQuota != 0 {
		h.Quota = req.Quota
	}
	if req.Set&proto.SetMOTD != 0 {
		h.MOTD = req.MOTD
	}
	if req.Set&proto.SetOffline != 0 {
		h.Offline = req.Offline
	}
	b := v.set.db.NewBatch()
	b.Set(headerKey(h.ID), h.encode())
	err := v.set.db.Commit(b)
	if err == nil {
		v.hdr = h
	}
	v.mu.Unlock()
	if err != nil {
		return proto.VolumeInfo{}, err
	}
	v.set.log.Info("volume status set", "name", h.Name, "quota_kb", h.Quota)
	return v.Info(), nil
}

// checkQuota refuses a change that grows the volume's data by grow bytes
// beyond its quota. Callers hold v.mu.
func (t *txn) checkQuota(grow int64) error {
	v := t.v
	if v.hdr.Quota <= 0 || grow <= 0 {
		return nil
	}
	if used := v.bytes + t.ch.byteDelta + grow; used > v.hdr.Quota*1024 {
		return proto.Errorf(proto.CodeQuota, fmt.Sprintf("volume %s is over its quota: %d KB of %d KB", v.hdr.Name, (used+1023)/1024, v.hdr.Quota))
	}
	return nil
}
