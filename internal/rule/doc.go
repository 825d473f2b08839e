// Package rule is the deployment-rule engine behind the preflight check: a
// pure function of (rules, attempt, history, clock) that says whether a
// deployment may start, which rule blocks it, and what every applicable rule
// concluded. It does no I/O; the caller loads the rules and history and turns
// the Verdict into an HTTP answer (Violation.Body for a refusal, the
// Evaluations under extra_metadata.preflight_status.rules_evaluated for a
// 200). docs/rules.md is the user-facing description.
//
// # Checks and their order
//
// Evaluate runs, in this order, and the first enforced failure is the verdict:
//
//  1. The built-in concurrency check ("Concurrent deployments", always
//     enforced): any other run of the product still started in the target
//     environment refuses with 409 CONCURRENT_DEPLOYMENT.
//  2. The rules, ordered by type (schedule, flow, deployment_request_required,
//     version_approval_required), then by name, then by id.
//
// Disabled rules are skipped entirely. A report_only rule is evaluated and
// listed, and its failure becomes a warning, never a refusal. Any other status
// is enforced (so a corrupt status fails closed).
//
// # Scope
//
// A rule applies when (ProductNames is empty or lists the product) and
// (EnvironmentNames is empty or lists the environment); names are compared
// exactly. A flow rule further applies only when deploying to its
// TargetEnvironment. A rule that applies but does not pass Validate fails with
// 428 INVALID_RULE rather than being ignored.
//
// # Schedule rules (423 NO_DEPLOY_WINDOW)
//
// A schedule is a set of no-deploy windows in an IANA zone. "once" has one
// window between two local date-times; "daily", "weekly" (on the listed
// weekdays) and "monthly" (on the listed days of the month; the 31st does not
// occur in a 30-day month) have a window starting at Start on each such local
// day and ending at End the same day, or the next day when End <= Start (so
// End == Start is a 24-hour window; a daily one is rejected by Validate, as
// are other schedules that would never end). Weekdays and month days are
// those of the rule's zone, not of UTC.
//
// Local times become instants as follows, which keeps every window one
// unbroken interval of absolute time and never leaves a moment whose wall
// clock reads inside the window unblocked:
//
//   - A window starts at the first instant the wall clock reads Start and ends
//     at the last instant it reads End (exclusive).
//   - A local time that does not exist (skipped by a spring-forward change)
//     is taken as the instant of the change, i.e. the first instant the clock
//     reads later than it. A daily 01:30–02:30 window in America/New_York on
//     the spring-forward day therefore runs from 01:30 EST to 03:00 EDT (30
//     minutes); a window lying wholly inside the skipped hour does not occur
//     that day.
//   - A local time that occurs twice (a fall-back change) starts a window at
//     its first occurrence and ends one at its second. A daily 01:30–02:30
//     window in America/New_York on the fall-back day runs from 01:30 EDT to
//     02:30 EST (two hours).
//
// When several windows overlap or touch (for example weekly saturday and
// sunday, 00:00–00:00), they block as one period. Violation.RetryAfter and the
// details' window_end are the end of that period; window_start is the start
// of the earliest window containing now.
//
// # Flow rules (428 FLOW_VIOLATION, 428 INSUFFICIENT_SOAK_TIME)
//
// Each prerequisite environment needs a completed deployment of the version
// (completion time: CompletedAt, else StartedAt, else now — no soak credit). With StrictOrder the
// first completion times must be in the listed order (equal times pass).
// With SoakMinutes > 0, now minus the latest of those first completions must
// be at least SoakMinutes; otherwise RetryAfter is when it will be.
//
// # Deployment-request rules (428 APPROVAL_REQUIRED)
//
// Some DR in status in_progress or approved, listing the target environment
// and this product+version, with no rejected slot, must have an approved slot
// for every required approval type. When none does, the details describe the
// closest one (most required types approved).
//
// # Version-approval rules (428 QUALITY_APPROVAL_REQUIRED)
//
// Every required type must be among the version's approvals. With
// AfterEnvironment set, only approvals recorded at or after the version's
// first completed deployment there count, and none count before it has one.
//
// # Defensive filtering
//
// History is expected to hold what its field comments say; entries that
// visibly do not (another product, version or environment, a non-started
// running deployment, the attempt's own deployment id) are ignored. Empty
// identifying fields are trusted.
package rule

import _ "time/tzdata" // IANA zones on machines without a zoneinfo database
