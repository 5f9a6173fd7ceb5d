// Package e2e runs scandeliver inside a real MTA: a private Postfix
// instance on a loopback port (its own config, queue and data
// directories under a temporary directory, never the system's), test
// users created with useradd, messages sent with swaks, and the
// results checked in the users' mailboxes and in Postfix's own log.
//
// The harness (StartPostfix and the Postfix type) is reusable by later
// end-to-end tests: they start an instance with their own Options, send,
// wait for the log, inspect the queue and the mailboxes.
//
// The tests need root, Postfix, swaks and python3. On a developer's
// machine without them they skip; under CI (SCANDELIVER_CI=1) they fail.
// See README.md for how to run them alone.
package e2e
