// Package location holds the realm databases that say where things live:
// the servers of the realm (id → address), and, with replicated volumes,
// which servers hold which volume. The SCM writes them; every server keeps
// a copy (server/realmdb, server/dbsync).
package location
