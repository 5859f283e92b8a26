// Package servertest starts real coda servers in-process for tests: a data
// directory made by server.Init in a temp dir, server.Run on 127.0.0.1 with
// a kernel-chosen port, readiness signalled by the Ready callback (no
// sleeps), and volumes created through the admin client as an operator
// would.
package servertest
