// Package contract holds the contract tests of issue 12: Versioner's own
// open-source clients — the real Versioner CLI, built from
// ../shared/peers/versioner-cli, and the real GitHub Action, run with node
// from ../shared/peers/versioner-github-action/dist/index.js — against a real
// shiplog server on both stores, and the same scenarios through the shiplog
// binary given the Versioner CLI's configuration (its flags, VERSIONER_*
// variables and configuration file), compared side by side: exit codes, the
// output lines scripts read, and the stored records. The tests skip, saying
// why, where ../shared/peers (relative to the repository) is absent; set
// SHIPLOG_PEERS_DIR to point elsewhere. There is no non-test code.
package contract
