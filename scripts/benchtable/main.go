package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	dir := fl.String("dir", "", "results directory (one subdirectory per target)")
	targets := fl.String("targets", "local loopback sshfs coda", "targets in column order")
	md := fl.String("md", "", "also write the table as Markdown to this file")
	title := fl.String("title", "fsbench results", "heading of the Markdown file")
	freeport := fl.Bool("freeport", false, "print a free TCP port on 127.0.0.1 and exit")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *freeport {
		return printFreePort(stdout)
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	res, err := loadResults(*dir, strings.Fields(*targets))
	if err != nil {
		return err
	}
	t := buildTable(res)
	if _, err := io.WriteString(stdout, t.text()); err != nil {
		return err
	}
	if *md != "" {
		if err := os.WriteFile(*md, []byte(t.markdown(*title)), 0o644); err != nil {
			return fmt.Errorf("write markdown: %w", err)
		}
	}
	return nil
}

func printFreePort(w io.Writer) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, port)
	return err
}
