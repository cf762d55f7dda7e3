/**
 * The fourth held-out set for the context_quality benchmark, written blind: by a helper who had not read
 * the selection method (select.ts, terms.ts, supersede.ts, duplicates.ts), its documentation beyond which
 * marked lines are facts, nor the other held-out sets. Domains not used before: a monorepo's CI build
 * time, a streaming incident's postmortem turned into fixes, and a job-search relevance project.
 * Children's tasks are worded as a user would ask; each child's `needs` are the facts an engineer doing
 * that task would really want. Fact ids are `<agent>.<n>`, the n-th marked line of that agent's result.
 */
import type { BenchWorkflow } from './context-workflows.js';

/** Five researchers profile a slow monorepo CI; eight implementers each take one part of the fix. */
const buildTime: BenchWorkflow = {
  name: 'monorepo-build-time',
  description: 'five researchers hand 60 facts on a 38-minute pnpm/Turborepo CI pipeline to eight implementers',
  phaseOutputs: ['research'],
  superseded: {},
  duplicates: [],
  results: [
    {
      agent: 'build-profiler',
      phase: 'research',
      text: `Profiled ci.yml runs on main (last 30 days) and a few local builds with turbo --summarize.
Finding: Median CI wall time on main is 38 min (p90 52 min), measured from the GitHub Actions run logs of .github/workflows/ci.yml.
Finding: \`tsc --build\` over all 48 packages takes 11 min 40 s of the critical path; apps/web alone is 4 min 10 s.
Finding: The Storybook build of packages/ui runs on every PR, even when no UI file changed, and takes 6 min.
Finding: pnpm install takes 3 min 20 s on a cold runner; the pnpm store is never restored because the actions/cache key includes github.run_id.
Finding: The webpack production build of apps/web takes 7 min; replacing ts-loader with esbuild-loader cut it to 2 min 50 s in a local trial.
Finding: Source map generation (devtool: 'source-map') is about 40 % of the apps/web build time.
Error: \`turbo run build --summarize\` crashes on macOS laptops with "failed to hash file: too many open files"; \`ulimit -n 10240\` avoids it.
Finding: ESLint with type-aware rules takes 5 min across the repo; 70 % of it is building a TypeScript program per package for @typescript-eslint/no-floating-promises.
Finding: The lint, typecheck and test jobs each run pnpm install and build their dependencies independently: the same 9 min is paid three times per pipeline.
Finding: Dev-server cold start (\`pnpm dev\` in apps/web) is 48 s, 30 s of it spent in fork-ts-checker-webpack-plugin.
Finding: CI runs Node 18.19 while .nvmrc pins 20.11, so esbuild's platform binary differs between CI and laptops.
Finding: The postinstall of packages/prisma-client runs \`prisma generate\` on every install (25 s), even when schema.prisma is unchanged.
File changed: none`,
    },
    {
      agent: 'cache-researcher',
      phase: 'research',
      text: `Looked at what Turborepo caches today and what a shared cache would take.
Finding: Turborepo remote caching is off: turbo.json has no remote cache settings and TURBO_TOKEN / TURBO_API are unset in CI.
Decision: Self-host the remote cache (ducktors/turborepo-remote-cache) on the existing S3 bucket acme-build-cache in eu-west-1 instead of Vercel's hosted cache; legal has not approved sending build artefacts to Vercel.
Finding: The build task's \`outputs\` in turbo.json only list dist/**, but 9 packages emit to lib/, so their outputs would never be restored from a cache hit.
Finding: Build outputs embed the absolute checkout path through source maps, so task hashes differ between CI (/home/runner/work/acme/acme) and laptops.
Finding: apps/web reads NODE_ENV, API_URL and SENTRY_RELEASE at build time but turbo.json does not declare them in \`env\`, so a cached bundle built for staging could be served to production.
Decision: Laptops get read-only access to the remote cache; only CI on main writes to it, with artefacts signed using TURBO_REMOTE_CACHE_SIGNATURE_KEY.
Finding: Expected cache growth is 14 GB per week; an S3 lifecycle rule expiring objects after 14 days keeps the bucket under 30 GB.
Finding: The test task has \`cache: false\` in turbo.json because a snapshot test in packages/date-utils depends on the machine's time zone.
Finding: Artefact signature verification adds about 80 ms per task, which is negligible.
Finding: \`turbo prune --docker\` produces a minimal workspace per service, shrinking the Docker build context from 1.9 GB to 140 MB.
Finding: The repo pins turbo 1.10.16; turbo 2.x renames \`pipeline\` to \`tasks\` in turbo.json and turns on strict env mode by default.
File changed: none`,
    },
    {
      agent: 'graph-researcher',
      phase: 'research',
      text: `Dependency graph analysis (pnpm ls --json, madge, depcheck, 200 recent PRs).
- Finding: packages/shared-utils is imported by 41 of the 48 packages, so any change to it invalidates almost the whole task graph.
- Finding: 63 % of commits touching shared-utils change only src/date/*.ts or src/money/*.ts.
- Decision: Split shared-utils into @acme/date, @acme/money and a smaller @acme/shared-utils, which keeps re-exporting the moved modules from a barrel for one release.
- Finding: apps/admin imports '../../web/src/lib/auth' by relative path, a hidden edge Turborepo cannot see, so admin is not rebuilt when web's auth code changes.
- Finding: @acme/api-client and @acme/models depend on each other (api-client imports model types; models imports api-client's generated enums).
- Finding: 12 packages declare dependencies they never import (depcheck report below).
- Finding: TypeScript project references exist for only 14 packages; the other 34 compile through path aliases in tsconfig.base.json, so \`tsc --build\` cannot skip up-to-date packages.
- Decision: Enforce package boundaries with eslint-plugin-boundaries rather than Nx's module-boundary rule, since we are not adopting Nx.
- Finding: \`turbo run build --filter=...[origin/main]\` would skip 31 packages on the median PR (measured over the 200 PRs).
- Finding: The Changesets release workflow (release.yml) runs \`pnpm -r build\`, bypassing turbo entirely, and takes 25 min.
- Finding: apps/docs (Docusaurus) depends on every package for its API reference and is rebuilt on every PR, 5 min each time.
- File changed: docs/build/depcheck-2024-05.json — depcheck output for all packages.`,
    },
    {
      agent: 'test-researcher',
      phase: 'research',
      text: `Test suite timing from the last 50 CI runs plus local experiments.
Finding: Jest runs 9,400 tests in one job that takes 14 min, the longest job on the critical path.
Finding: 38 % of Jest time is ts-jest transpilation; @swc/jest was 2.7× faster on packages/api in a trial, with 3 failing tests that rely on const enums.
Finding: The 20 slowest test files account for 41 % of test time; 14 of them start their own Postgres through testcontainers.
Decision: Shard Jest over 4 runners with \`--shard=i/4\`, balanced by per-file timings from the previous run kept as the jest-timings.json artifact.
Error: Jest 29.3 ignores a custom testSequencer when --shard is given; timing-based sharding needs Jest 29.7.
Finding: The Playwright e2e suite (212 tests) takes 9 min and runs on every PR, although only 18 % of PRs touch apps/web or apps/admin.
Finding: Testcontainers Postgres start-up costs 6–9 s per test file; one shared container per Jest worker started in globalSetup would save about 4 min.
Finding: Three tests fail more than 2 % of the time: invoice-preview.spec.ts, date-range.test.ts (time zone) and ws-reconnect.test.ts.
Finding: Coverage collection (--coverage through babel-plugin-istanbul) adds 35 % to Jest time, and only the Codecov upload on main reads it.
Finding: Vitest was tried on packages/date-utils: 4× faster, but migrating all 9,400 tests is estimated at 3 engineer-weeks.
Finding: Jest's --maxWorkers is unset, so on the 2-vCPU runners it uses a single worker.
File changed: docs/build/slow-tests.md — the 20 slowest test files with their durations.`,
    },
    {
      agent: 'ci-researcher',
      phase: 'research',
      text: `CI infrastructure and billing review.
Finding: CI uses GitHub-hosted ubuntu-latest runners (2 vCPU, 7 GB); turbo's default concurrency of 10 thrashes memory and 4 % of runs end with an OOM-killed job.
Finding: The ubuntu-22.04-8core larger runner costs $0.032/min against $0.008/min; for the typecheck job that is 1.3× the cost for a 3.1× faster finish.
Decision: Move the typecheck and build jobs to 8-core larger runners; lint and the unit-test shards stay on standard runners.
Finding: The Docker images of services/api and services/worker are built without BuildKit layer caching; each build reinstalls all node_modules (4 min per image).
Decision: Build images with docker/build-push-action using \`cache-from\`/\`cache-to: type=gha,mode=max\` and a multi-stage Dockerfile that copies pnpm-lock.yaml and runs \`pnpm fetch\` before copying sources.
Finding: actions/setup-node's built-in \`cache: pnpm\` restores the pnpm store keyed on the pnpm-lock.yaml hash; installs would drop to about 45 s.
Finding: The GitHub Actions bill is $4,100 a month, 61 % of it from ci.yml.
Error: ci.yml has no \`concurrency\` group, so pushing twice to a PR runs both pipelines to the end (about 9 % of all minutes wasted).
Finding: ci.yml triggers on both push and pull_request, so internal PR branches run every pipeline twice.
Finding: Branch protection's required status checks name the jobs ("test", "typecheck"); renaming or sharding those jobs blocks every merge until an org admin updates the rule.
File changed: none`,
    },
  ],
  children: [
    {
      id: 'remote-cache',
      phase: 'implement',
      inherits: ['research'],
      task: "get turbo's shared cache going on our own infra so CI and dev laptops stop rebuilding the same stuff. it must never hand out a stale or wrong build",
      needs: [
        'cache-researcher.1',
        'cache-researcher.2',
        'cache-researcher.3',
        'cache-researcher.4',
        'cache-researcher.5',
        'cache-researcher.6',
        'cache-researcher.7',
      ],
    },
    {
      id: 'test-sharding',
      phase: 'implement',
      inherits: ['research'],
      role: 'test infrastructure engineer',
      task: "unit tests are the long pole in CI. spread them over a few machines and make each chunk quicker too — and don't leave PRs unmergeable while you're at it",
      needs: [
        'test-researcher.1',
        'test-researcher.2',
        'test-researcher.4',
        'test-researcher.5',
        'test-researcher.7',
        'test-researcher.9',
        'test-researcher.11',
        'ci-researcher.10',
      ],
    },
    {
      id: 'typecheck',
      phase: 'implement',
      inherits: ['research'],
      task: 'The TS check step is painfully slow. Set the compiler config up so only packages that changed get rechecked, and put that job on the bigger boxes like we agreed.',
      needs: ['build-profiler.2', 'graph-researcher.7', 'graph-researcher.5', 'graph-researcher.4', 'ci-researcher.3'],
    },
    {
      id: 'docker-images',
      phase: 'implement',
      inherits: ['research'],
      task: 'api + worker container builds in CI download every npm dep from scratch each time. make them fast',
      needs: ['ci-researcher.4', 'ci-researcher.5', 'cache-researcher.10', 'build-profiler.12'],
    },
    {
      id: 'utils-split',
      phase: 'implement',
      inherits: ['research'],
      task: "Break up the grab-bag helpers package nearly everything depends on, so tweaking a date helper doesn't rebuild the world. Don't break existing importers yet, and stop people importing across the new lines.",
      needs: ['graph-researcher.1', 'graph-researcher.2', 'graph-researcher.3', 'graph-researcher.8'],
    },
    {
      id: 'pipeline',
      phase: 'implement',
      inherits: ['research'],
      role: 'CI/CD engineer',
      task: 'rework the GH Actions workflow: no double or overlapping runs, npm store caching that actually hits, only build/test what a PR affects, skip browser tests + storybook when the frontend is untouched',
      needs: [
        'ci-researcher.8',
        'ci-researcher.9',
        'build-profiler.4',
        'ci-researcher.6',
        'graph-researcher.9',
        'test-researcher.6',
        'build-profiler.3',
        'build-profiler.9',
        'ci-researcher.10',
      ],
    },
    {
      id: 'web-bundle',
      phase: 'implement',
      inherits: ['research'],
      task: 'prod bundle of the web app takes ages. speed it up, but we still need readable stack traces in Sentry',
      needs: ['build-profiler.5', 'build-profiler.6'],
    },
    {
      id: 'cost-summary',
      phase: 'implement',
      inherits: ['research'],
      role: 'engineering manager',
      task: 'Put together numbers for leadership: how long a CI run takes today, what Actions costs us per month, how much is wasted, and what the bigger runners would add.',
      needs: ['build-profiler.1', 'ci-researcher.7', 'ci-researcher.2', 'ci-researcher.8', 'ci-researcher.9'],
    },
  ],
};

/**
 * An incident on a Kafka notification pipeline: triage → postmortem → design → build → verify, with
 * children in every later phase. Later phases revise earlier decisions: the dead-letter policy and the
 * lag alert by key, the consumer library, the oversized-message policy and the chunk size by plain
 * contradicting `Decision:` lines.
 */
const incident: BenchWorkflow = {
  name: 'streaming-incident-fixes',
  description: 'a consumer-lag incident on a Kafka notifications topic, from triage to verified fixes',
  phaseOutputs: ['postmortem'],
  superseded: {
    'pm-author.4': 'designer.2',
    'pm-author.6': 'verifier.4',
    'sre-reviewer.1': 'verifier.4',
    'pm-author.5': 'designer.5',
    'designer.3': 'sre-reviewer.3',
    'designer.1': 'builder.9',
  },
  duplicates: [],
  results: [
    {
      agent: 'oncall',
      phase: 'triage',
      text: `Timeline of INC-2291 pieced together from PagerDuty, Grafana and the notifier pod logs.
Finding: At 14:02 UTC consumer lag on topic notifications.v2 (consumer group notifier) started to grow; it peaked at 4.2 million messages at 16:40 and push notifications were delayed by up to 3 h 10 min.
Finding: The notifier pods logged "leaving group because of poll timeout" every 4–6 min: a rebalance storm across all 24 partitions.
Finding: Batch processing time went from 2 s to 340 s after one 9 MB message (tenant 8812's bulk broadcast to 41,000 users) landed on partition 17.
Error: The producer never got a RecordTooLargeException because the brokers' message.max.bytes was raised to 10 MB in March for the import service.
Decision: Mitigation was to move the notifier group's offset on partition 17 past the poison message with \`kafka-consumer-groups --reset-offsets --shift-by 1\`.
Finding: The 41,000 notifications for tenant 8812 were never delivered, because the skipped message was the broadcast's fan-out trigger.
File changed: none`,
    },
    {
      agent: 'pm-author',
      phase: 'postmortem',
      text: `Blameless postmortem draft for INC-2291.
Finding: Root cause: the consumer's max.poll.interval.ms is 300000 (5 min) while the fan-out message took 340 s, so the member was expelled, the partition reassigned, and the same message reprocessed by the next member, again and again.
Finding: Contributing factor: there is no dead-letter topic; services/notifier/src/consumer/handle.ts retries a failing message in-process forever.
Finding: Contributing factor: the lag alert (over 1 million messages for 30 min) fired 95 min after lag started growing.
Decision[dlq]: After 5 failed attempts with exponential backoff (1 s up to 60 s), a message goes to the dead-letter topic notifications.v2.dlq.
Decision: broadcast-api rejects fan-out requests whose payload is over 1 MB with HTTP 413.
Decision[lag-alert]: Page when consumer lag exceeds 50,000 messages for 5 min.
Finding: Action item owners: Priya (consumer changes), Tom (alerting), Lena (broadcast-api limits), all due within two sprints.
Finding: Three enterprise tenants (8812, 1040, 5531) opened tickets; support has promised them a written explanation by Friday.`,
    },
    {
      agent: 'designer',
      phase: 'design',
      text: `Design for the notifier fixes; ADR written.
Decision: The consumer turns a broadcast trigger into chunks of 500 recipients published to a new topic notifications.v2.fanout, so no single message takes more than about 2 s.
Decision[dlq]: The dead-letter topic notifications.v2.dlq has 24 partitions and 14 days' retention; a message goes there after 5 attempts (backoff 1 s to 60 s) with headers x-attempts, x-first-failure-at and x-error-class.
Decision: Stay on kafkajs 2.2.4 and use eachBatch with a manual heartbeat() every 500 messages.
Finding: A retried batch is delivered again as a whole, so sends must be idempotent: each push gets the dedupe key tenantId:broadcastId:recipientId, kept in Redis for 48 h.
Decision: Large broadcast payloads are stored in the S3 bucket notif-payloads and the Kafka message carries only a reference to it (claim check); broadcast-api no longer rejects them.
File changed: docs/adr/0042-notification-fanout.md — ADR for chunked fan-out and the claim check.`,
    },
    {
      agent: 'sre-reviewer',
      phase: 'design',
      text: `SRE review of the design.
Decision[lag-alert]: Alert on time lag, not message count: page when the notifier group's lag exceeds 120 s for 5 min, measured by kafka-lag-exporter, because traffic varies 20× between night and day.
Finding: kafka-lag-exporter 0.8.2 already runs in the monitoring namespace, but Prometheus does not scrape it (no ServiceMonitor).
Decision: Do not stay on kafkajs, which has been unmaintained since 2023: move the notifier consumer to @confluentinc/kafka-javascript 1.0 (librdkafka).
Decision: Use partition.assignment.strategy=cooperative-sticky so a rebalance no longer stops all 24 partitions at once.
Finding: notifications.v2 should get a topic-level max.message.bytes of 1 MB, leaving the broker default at 10 MB for the import topic.
File changed: none`,
    },
    {
      agent: 'builder',
      phase: 'build',
      text: `Implemented the consumer and infra changes; load-tested in staging.
File changed: services/notifier/src/consumer/handle.ts — capped attempts with backoff and publish to the dead-letter topic.
File changed: services/notifier/src/consumer/client.ts — @confluentinc/kafka-javascript client with cooperative-sticky assignment.
File changed: services/notifier/src/fanout/chunk.ts — splits a broadcast trigger into recipient chunks.
File changed: services/notifier/src/send/dedupe.ts — Redis SET NX on the dedupe key with a 48 h TTL.
Error: Under load, fetching the claim-checked payload from S3 timed out (5 s default) for 4 % of chunks; raised to 15 s with 2 retries.
Finding: The dedupe keys take about 1.1 GB of Redis memory at peak (≈9 million keys × 120 bytes); the notif-redis cluster has 6 GB free.
File changed: infra/kafka/topics/notifications.tf — fanout and dead-letter topics, max.message.bytes = 1 MB on notifications.v2.
File changed: infra/monitoring/kafka-lag-exporter-servicemonitor.yaml — Prometheus now scrapes the lag exporter.
Decision: Broadcasts are split into chunks of 200 recipients, not 500: a 500-recipient chunk took 2.8 s at p99 for heavy templates.`,
    },
    {
      agent: 'verifier',
      phase: 'verify',
      text: `Staging verification and chaos test results.
Finding: Replaying INC-2291's 9 MB broadcast in staging delivered all 41,000 notifications in 6 min 20 s (205 chunks), with no rebalance.
Finding: Killing one of the 6 notifier pods under load paused only 4 partitions, for 3 s.
Error: The alert rule in infra/monitoring/rules/notifier.yaml compared kafka_consumergroup_group_max_lag_seconds with 120000, as if it were milliseconds, so the alert never fired during the chaos test.
Decision[lag-alert]: Page when kafka_consumergroup_group_max_lag_seconds > 180 for 5 min (not 120 s: the nightly digest batch routinely reaches 150 s).
Finding: In a 2-hour soak, 12 messages reached the dead-letter topic, all with x-error-class TemplateRenderError (malformed tenant templates).
File changed: none`,
    },
  ],
  children: [
    {
      id: 'postmortem-draft',
      phase: 'postmortem',
      inherits: ['triage'],
      task: "write up the blameless PM for last week's push delay outage — timeline, who was hit and how badly, what we did in the moment",
      needs: ['oncall.1', 'oncall.2', 'oncall.3', 'oncall.4', 'oncall.5', 'oncall.6'],
    },
    {
      id: 'fix-design',
      phase: 'design',
      inherits: ['triage', 'postmortem'],
      task: "Design the fix so one giant broadcast can't wedge the notifier again, and bad msgs stop looping forever.",
      needs: ['pm-author.1', 'pm-author.2', 'pm-author.4', 'pm-author.5', 'oncall.3', 'oncall.2'],
    },
    {
      id: 'consumer-impl',
      phase: 'build',
      inherits: ['triage', 'postmortem', 'design'],
      role: 'backend engineer',
      task: 'implement the consumer side in the notifier svc: swap the kafka lib, failed-message handling, breaking big sends into pieces, and no duplicate pushes',
      needs: [
        'designer.1',
        'designer.2',
        'sre-reviewer.3',
        'sre-reviewer.4',
        'designer.4',
        'designer.5',
        'pm-author.2',
      ],
    },
    {
      id: 'topics-infra',
      phase: 'build',
      inherits: ['triage', 'postmortem', 'design'],
      task: 'terraform the new topics and put a sane size cap back on the notif topic without breaking the importer',
      needs: ['designer.1', 'designer.2', 'sre-reviewer.5', 'oncall.4'],
    },
    {
      id: 'staging-check',
      phase: 'verify',
      inherits: ['triage', 'postmortem', 'design', 'build'],
      role: 'QA engineer',
      task: 'Prove the fix holds in staging: replay what took us down, kill pods mid-load, and check nobody gets the same push twice.',
      needs: ['oncall.3', 'oncall.6', 'builder.9', 'designer.4', 'sre-reviewer.4', 'designer.5', 'builder.4'],
    },
    {
      id: 'runbook',
      phase: 'rollout',
      inherits: ['triage', 'postmortem', 'design', 'build', 'verify'],
      task: 'update the on-call runbook for the notifier: what pages and when, where failed msgs end up and how to replay them, what to do if a monster broadcast shows up',
      needs: ['verifier.4', 'designer.2', 'verifier.5', 'designer.5', 'builder.9', 'verifier.3', 'oncall.5'],
    },
    {
      id: 'customer-note',
      phase: 'rollout',
      inherits: ['triage', 'postmortem', 'design', 'build', 'verify'],
      role: 'support lead',
      task: 'Draft the email to the big customers who complained: what happened, for how long, and what we changed so it will not happen again.',
      needs: ['oncall.1', 'oncall.6', 'pm-author.1', 'pm-author.8', 'designer.5', 'verifier.1'],
    },
    {
      id: 'alert-fix',
      phase: 'rollout',
      inherits: ['triage', 'postmortem', 'design', 'build', 'verify'],
      task: 'make the backlog paging rule fire at the right point, and double-check prometheus is really collecting the numbers it uses',
      needs: ['verifier.4', 'verifier.3', 'sre-reviewer.2', 'builder.8'],
    },
  ],
};

/**
 * Eight agents explore a job board's search relevance at once: several report the same measurement in
 * their own words, and some decide opposite things (synonyms at index or query time, hybrid vector
 * search in the first release or not, a typed place as filter or boost).
 */
const searchRelevance: BenchWorkflow = {
  name: 'job-search-relevance',
  description: 'an eight-agent swarm on OpenSearch relevance for a job board, with duplicates and contradictions',
  phaseOutputs: [],
  superseded: {
    'index-inspector.5': 'synonyms-researcher.2',
    'semantic-explorer.3': 'latency-checker.3',
    'ranking-tuner.6': 'location-researcher.4',
  },
  duplicates: [
    ['query-log-analyst.1', 'index-inspector.3'],
    ['eval-builder.2', 'ranking-tuner.1'],
    ['semantic-explorer.4', 'latency-checker.4'],
    ['query-log-analyst.3', 'location-researcher.1'],
  ],
  results: [
    {
      agent: 'query-log-analyst',
      phase: 'explore',
      text: `Analysed 30 days of the search_events table (4.8 million searches).
Finding: 18 % of searches return zero results; the top zero-result queries are abbreviations such as "sde", "pm", "rn" and "swe intern".
Finding: Click-through on the first result is 21 % overall but 9 % for queries that include a location.
Finding: 34 % of queries contain a location: "remote", city names, "nyc", "sf bay area".
Finding: The median query is 2.4 terms long; 7 % of queries are exactly a company name.
Finding: Users who refine a query within 30 s mostly add "remote" or a seniority word ("senior", "junior", "entry level").
File changed: none`,
    },
    {
      agent: 'index-inspector',
      phase: 'explore',
      text: `Inspected the mappings and the query built by services/search-api/src/query.ts.
Finding: The jobs index (OpenSearch 2.11, index jobs_v7, 1.2 million documents, 6 shards) analyses title and description with the standard analyzer: no stemming, no synonyms.
Finding: The multi_match boosts title 2.0 over description; company_name is not searched at all.
Finding: Nearly one search in five comes back empty, mostly short forms like "sde" or "rn".
Finding: Location is free text (location_raw) with no geo_point, so "NYC" does not match "New York, NY".
Decision: Add synonyms at index time with a synonym token filter in a new index jobs_v8, filled with the _reindex API, then swap the jobs alias.
Finding: Closed postings (status=closed) are removed with a post_filter, so they are still counted in the facet aggregations shown in the sidebar.`,
    },
    {
      agent: 'synonyms-researcher',
      phase: 'explore',
      text: `Built a synonym list and tested how to apply it.
Finding: 420 job-title synonyms and abbreviations were compiled from the query logs and O*NET alternate titles, in Solr format.
Decision: Apply synonyms at query time only, with synonym_graph in the search analyzer, so the list can be changed with POST /jobs/_reload_search_analyzers instead of a reindex.
Finding: Multi-word synonyms ("sde" => "software development engineer") need synonym_graph; the plain synonym filter breaks phrase queries.
Error: Expanding "pm" to both "product manager" and "project manager" dropped nDCG@10 for "pm" queries from 0.41 to 0.33, so 17 ambiguous abbreviations were taken out of the list.
File changed: data/search/synonyms-jobs.txt — 403 rules after removing the ambiguous ones.`,
    },
    {
      agent: 'eval-builder',
      phase: 'explore',
      text: `Offline evaluation set-up.
Finding: A judged set of 600 queries (sampled by frequency band) × top 20 results was graded 0–3 by two recruiters, with inter-rater kappa 0.71; it is in data/search/judgments-2024q2.jsonl.
Finding: Baseline on jobs_v7: nDCG@10 0.52, MRR 0.44, zero-result rate 18 %.
Decision: The launch bar is nDCG@10 ≥ 0.60 on the judged set, with no frequency band dropping by more than 1 point.
File changed: bench/search/eval.py — runs the judged set against any index alias and prints nDCG@10, MRR and the zero-result rate.`,
    },
    {
      agent: 'ranking-tuner',
      phase: 'explore',
      text: `Ranking experiments against the judged set.
Finding: Today's ranking scores 0.52 nDCG@10 on the 600 judged queries.
Finding: A gauss decay on posted_at (scale 14 days, decay 0.5) in a function_score raised nDCG@10 to 0.56.
Finding: BM25 with k1=0.9 and b=0.4 on the short title field added 0.02 nDCG@10 over the defaults (k1=1.2, b=0.75).
Decision: Add company_name to the multi_match (best_fields) with boost 3.0, so searching a company's name ranks its postings first.
Finding: Sponsored postings get a function_score weight of 10 that overwhelms relevance; the ads team owns it (#ads-eng).
Decision: When the query contains a known place name, filter results to within 40 km of it.`,
    },
    {
      agent: 'semantic-explorer',
      phase: 'explore',
      text: `Tried hybrid lexical + vector search.
Finding: Hybrid search (BM25 plus all-MiniLM-L6-v2 embeddings, 384 dims, combined by a normalization-processor search pipeline with weight 0.3 on the vector side) reaches nDCG@10 0.61 on the judged set.
Finding: Embedding the 1.2 million postings takes 5.5 h on one g5.xlarge; the ~40,000 new postings a day can be embedded in the ingest pipeline with ml-commons.
Decision: Ship hybrid search in the first release.
Finding: The k-NN query adds 38 ms at p95 (85 ms → 123 ms) at 300 QPS.
Finding: With hybrid, zero-result queries drop from 18 % to 2 % because the vector side always returns neighbours, but 60 % of those neighbours were judged irrelevant.`,
    },
    {
      agent: 'latency-checker',
      phase: 'explore',
      text: `Latency and capacity check.
Finding: The search p95 SLO is 150 ms at search-api; today it is 85 ms p95 inside OpenSearch and 110 ms end to end.
Finding: The cluster (3 × r6g.2xlarge data nodes) runs at 55 % CPU at the 300 QPS peak.
Decision: No vector search in the first release: at 123 ms inside OpenSearch the end-to-end p95 would sit at the 150 ms SLO with no headroom. Ship BM25 tuning, synonyms and recency first; hybrid becomes a later experiment behind a feature flag.
Finding: Vector retrieval costs roughly 38 ms extra at p95 under peak load.
File changed: none`,
    },
    {
      agent: 'location-researcher',
      phase: 'explore',
      text: `Location handling.
Finding: About a third of searches name a place ("remote", "nyc", "sf bay area").
Finding: The Mapbox geocoder already used by services/geo can turn location_raw into lat/lon; 96 % of the 1.2 million postings geocode with confidence ≥ 0.8.
Decision: Index a geo_point field location_geo and a boolean is_remote, and recognise places in the query with a gazetteer of the GeoNames cities15000 list (about 30,000 names).
Decision: A place in the free-text query only boosts nearby postings (a decay, never a filter), so "nyc" cannot empty the results; only the location box applies a geo_distance filter of 40 km.
Finding: Remote postings are flagged inconsistently: 22 % of remote jobs have location_raw "Anywhere", "WFH" or "Remote - US".
Error: The Mapbox geocoding API allows 600 requests/min, so backfilling 1.2 million postings one by one takes about 33 h; the batch geocoding endpoint is needed.`,
    },
  ],
  children: [
    {
      id: 'synonym-impl',
      phase: 'build',
      inherits: ['explore'],
      task: "wire the alias/abbreviation list into search so 'sde' and friends find jobs, and so we can tweak the list later without rebuilding the whole index",
      needs: [
        'synonyms-researcher.1',
        'synonyms-researcher.2',
        'synonyms-researcher.3',
        'synonyms-researcher.4',
        'synonyms-researcher.5',
        'query-log-analyst.1',
        'index-inspector.1',
      ],
    },
    {
      id: 'location-impl',
      phase: 'build',
      inherits: ['explore'],
      role: 'search engineer',
      task: "Make where-searches work: NYC vs New York, NY, work-from-home jobs, and a city typed into the main box. Also backfill coordinates for what's already indexed.",
      needs: [
        'index-inspector.4',
        'location-researcher.2',
        'location-researcher.3',
        'location-researcher.4',
        'location-researcher.5',
        'location-researcher.6',
        'query-log-analyst.3',
      ],
    },
    {
      id: 'scoring',
      phase: 'build',
      inherits: ['explore'],
      task: 'tune the scoring: fresher jobs higher, people typing an employer should see that employer, and fix the weirdness on the short title field',
      needs: [
        'ranking-tuner.2',
        'ranking-tuner.3',
        'ranking-tuner.4',
        'index-inspector.2',
        'query-log-analyst.4',
        'ranking-tuner.5',
      ],
    },
    {
      id: 'go-no-go',
      phase: 'build',
      inherits: ['explore'],
      role: 'tech lead',
      task: "Decide whether the new relevance work is good enough to go live: what's the bar, where are we vs. the old setup, and do we stay inside our response-time target?",
      needs: [
        'eval-builder.1',
        'eval-builder.2',
        'eval-builder.3',
        'latency-checker.1',
        'latency-checker.3',
        'ranking-tuner.2',
        'ranking-tuner.3',
      ],
    },
    {
      id: 'vector-flag',
      phase: 'build',
      inherits: ['explore'],
      task: 'set up the embeddings/semantic matching thing as an experiment behind a flag for later, and say what it would cost us in speed and box load',
      needs: [
        'semantic-explorer.1',
        'semantic-explorer.2',
        'semantic-explorer.4',
        'semantic-explorer.5',
        'latency-checker.3',
        'latency-checker.2',
      ],
    },
    {
      id: 'facet-counts',
      phase: 'build',
      inherits: ['explore'],
      task: 'the counts in the left-hand filters still include jobs that are no longer open — fix that',
      needs: ['index-inspector.6'],
    },
    {
      id: 'eval-in-ci',
      phase: 'build',
      inherits: ['explore'],
      task: 'Hook the offline quality check into CI so a PR that makes results worse gets blocked.',
      needs: ['eval-builder.1', 'eval-builder.4', 'eval-builder.3', 'eval-builder.2'],
    },
    {
      id: 'zero-results',
      phase: 'build',
      inherits: ['explore'],
      task: "cut down on searches that come back with nothing — what's causing them and which of the fixes on the table actually help without junk results?",
      needs: [
        'query-log-analyst.1',
        'synonyms-researcher.2',
        'synonyms-researcher.4',
        'semantic-explorer.5',
        'latency-checker.3',
        'location-researcher.4',
      ],
    },
  ],
};

export const heldOut4Workflows: BenchWorkflow[] = [buildTime, incident, searchRelevance];
