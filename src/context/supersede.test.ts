import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { DynamicContextAccumulator } from './accumulator.js';
import { extractContext } from './extract.js';

let now = 1_000;
const clock = { now: () => now++ };
const temp = useTempStore('baton-supersede-');

/** Where a decision comes from: the agent and its phase (phases run in the order `phases` lists them). */
interface Said {
  agent: string;
  phase: string;
  text: string;
}

const phases = ['research', 'design', 'build', 'review'];

/** What earlier agents of a web shop's run reported: the facts the pairs below sit among. */
const background: Said[] = [
  { agent: 'survey', phase: 'research', text: 'Finding: The storefront is a Next.js app served from Vercel.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Orders are stored in PostgreSQL 15 on RDS.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Product search is answered by Meilisearch.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Background jobs run on BullMQ workers.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Metrics are scraped by Prometheus and shown in Grafana.' },
  { agent: 'survey', phase: 'research', text: 'Decision: New tables use UUIDv7 primary keys.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Translations live in messages/<locale>.json.' },
  { agent: 'survey', phase: 'research', text: 'Decision: Prices are formatted with Intl.NumberFormat.' },
  { agent: 'survey', phase: 'research', text: 'Finding: The design system lives in packages/ui (Tailwind and Radix).' },
  { agent: 'survey', phase: 'research', text: 'Finding: Abandoned carts are purged nightly after thirty days.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Invoices are rendered to PDF by a headless Chromium worker.' },
  { agent: 'survey', phase: 'research', text: 'Decision: Feature flags are served by Unleash.' },
  { agent: 'survey', phase: 'research', text: 'Finding: CI runs on GitHub Actions and takes about twelve minutes.' },
  { agent: 'survey', phase: 'research', text: 'Finding: Customer support uses Zendesk, linked by customer email.' },
];

interface Pair {
  name: string;
  older: Said;
  newer: Said;
}

const said = (agent: string, phase: string, text: string): Said => ({ agent, phase, text: `Decision: ${text}` });

/** A later decision that replaces an earlier one: the earlier must never be injected. */
const revisions: Pair[] = [
  {
    name: 'a lead raises a value in other words',
    older: said('backend', 'design', 'Sessions now end after 20 minutes idle.'),
    newer: said('lead', 'review', 'Idle timeout raised to 45 minutes after user complaints.'),
  },
  {
    name: 'a reviewer replaces the migration method, naming why the old one failed',
    older: said('dba', 'design', 'Migrate the orders database with pglogical streaming replication.'),
    newer: said(
      'reviewer',
      'review',
      'Do the move with pg_dump and pg_restore in a Saturday downtime window; streaming replication lagged too far behind.',
    ),
  },
  {
    name: 'a number changes on the same limit',
    older: said('api', 'design', 'Rate limit the public API at 100 requests per minute per key.'),
    newer: said(
      'lead',
      'review',
      'The public API allows 300 requests per minute per key; 100 throttled the mobile app.',
    ),
  },
  {
    name: 'a reversal',
    older: said('frontend', 'design', 'Feature flags are evaluated on the server only.'),
    newer: said(
      'lead',
      'review',
      'Evaluate feature flags in the browser after all; server-side evaluation added 80 ms to every page.',
    ),
  },
  {
    name: 'an upgrade reverted',
    older: said('frontend', 'design', 'Upgrade the storefront to React 19 in this release.'),
    newer: said(
      'reviewer',
      'review',
      'Stay on React 18 until the form library supports 19; the upgrade is rolled back.',
    ),
  },
  {
    name: 'priorities reordered',
    older: said('planner', 'design', 'Priority order: search first, then checkout, then the admin dashboard.'),
    newer: said(
      'lead',
      'review',
      'Checkout goes first, ahead of search, because the payment provider deadline is March 1.',
    ),
  },
  {
    name: 'a library replaced without a revision word',
    older: said('frontend', 'design', 'Use Moment.js for date formatting.'),
    newer: said('reviewer', 'review', 'Date formatting uses date-fns; Moment is in maintenance mode.'),
  },
  {
    name: 'a storage location replaced',
    older: said('backend', 'design', 'Store uploaded images on the local disk under /var/uploads.'),
    newer: said(
      'lead',
      'review',
      'Uploaded images go to the S3 bucket media-prod, not the local disk, so several instances can serve them.',
    ),
  },
  {
    name: 'a port changed',
    older: said('backend', 'design', 'The API server listens on port 8080.'),
    newer: said('ops', 'build', 'The API server listens on port 3000 to match the proxy configuration.'),
  },
  {
    name: 'a duration lowered',
    older: said('backend', 'design', 'Cache product pages for 10 minutes.'),
    newer: said('lead', 'review', 'Product page cache TTL lowered to 60 seconds; prices change too often.'),
  },
  {
    name: 'a count bumped',
    older: said('integrations', 'design', 'Webhook deliveries are retried 3 times.'),
    newer: said(
      'lead',
      'review',
      'Webhook delivery retries bumped to 8 with exponential backoff, since partners have longer outages.',
    ),
  },
  {
    name: 'a database choice overturned',
    older: said('architect', 'design', 'Use MongoDB for the event log.'),
    newer: said(
      'reviewer',
      'review',
      'The event log lives in PostgreSQL as a partitioned table; we decided against running a second database.',
    ),
  },
  {
    name: 'a feature postponed',
    older: said('planner', 'design', 'Dark mode ships in v2.1.'),
    newer: said('lead', 'review', 'Dark mode is postponed to v2.3; the design is not finished.'),
  },
  {
    name: 'a feature cut',
    older: said('planner', 'design', 'Build a CSV import for customers in this sprint.'),
    newer: said('lead', 'review', 'The customer CSV import is cut from this sprint.'),
  },
  {
    name: 'an authentication method replaced',
    older: said('security', 'design', 'Authenticate API clients with long-lived API keys.'),
    newer: said(
      'reviewer',
      'review',
      'API clients authenticate with OAuth2 client credentials; API keys are no longer issued.',
    ),
  },
  {
    name: 'a retention period cut',
    older: said('ops', 'design', 'Keep application logs for 90 days.'),
    newer: said('lead', 'review', 'Log retention cut to 30 days to stay within the storage budget.'),
  },
  {
    name: 'pagination switched',
    older: said('api', 'design', 'List endpoints use offset pagination with page and per_page.'),
    newer: said('reviewer', 'review', 'List endpoints paginate with opaque cursors; offsets time out on large tables.'),
  },
  {
    name: 'a rollout share changed',
    older: said('release', 'design', 'Roll the new checkout out to 10% of traffic first.'),
    newer: said('lead', 'review', 'The new checkout starts at 1% of traffic; 10% is too risky before Black Friday.'),
  },
  {
    name: 'a runtime version changed',
    older: said('ops', 'design', 'Target Node 18 for the workers.'),
    newer: said('ops-lead', 'review', 'Workers run on Node 20, since Node 18 reaches end of life in April.'),
  },
  {
    name: 'a provider moved',
    older: said('backend', 'design', 'Transactional email goes through SendGrid.'),
    newer: said(
      'lead',
      'review',
      'Transactional email moves to Postmark; SendGrid deliverability to Outlook was poor.',
    ),
  },
  {
    name: 'a batch size reduced',
    older: said('data', 'design', 'The nightly export processes 5,000 rows per batch.'),
    newer: said('reviewer', 'review', 'Export batch size reduced to 1,000 rows to keep memory under 512 MB.'),
  },
  {
    name: 'a priority lowered',
    older: said('planner', 'design', 'Mobile push notifications are P1.'),
    newer: said('lead', 'review', 'Push notifications drop to P2; offline sync is P1 now.'),
  },
  {
    name: 'a backup schedule tightened',
    older: said('ops', 'design', 'Nightly backups run at 01:00 UTC and are kept for 14 days.'),
    newer: said('ops-lead', 'review', 'Backups now run every 6 hours; a day of lost orders is too much.'),
  },
  {
    name: 'a debounce shortened with the old value as the reason',
    older: said('frontend', 'design', 'The search page debounces input by 300 ms.'),
    newer: said('reviewer', 'review', 'Search input debounce is 150 ms; 300 felt sluggish in usability tests.'),
  },
  {
    name: 'an API style overturned',
    older: said('api', 'design', 'Use GraphQL for the partner API.'),
    newer: said(
      'lead',
      'review',
      'The partner API will be plain REST with OpenAPI; partners asked for it and GraphQL adds little here.',
    ),
  },
  {
    name: 'a timing moved with "instead of"',
    older: said('media', 'design', 'Image thumbnails are generated on upload.'),
    newer: said('reviewer', 'review', 'Generate thumbnails lazily on first request instead of on upload.'),
  },
  {
    name: 'a scope narrowed',
    older: said('product', 'design', 'The MVP supports English and German.'),
    newer: said('lead', 'review', 'The MVP launches in English only; German moves to the second release.'),
  },
  {
    name: 'a limit raised in the imperative',
    older: said('backend', 'design', 'Max upload size is 10 MB.'),
    newer: said('lead', 'review', 'Raise the maximum upload size to 25 MB for the PDF catalogues.'),
  },
  {
    name: 'self-hosting given up',
    older: said('ops', 'design', 'We will self-host Sentry.'),
    newer: said('lead', 'review', "Use Sentry's SaaS plan; self-hosting needed more upkeep than we have."),
  },
  {
    name: 'a concurrency raised after a measurement',
    older: said('backend', 'design', 'Queue workers run with concurrency 4.'),
    newer: said('perf', 'review', 'Worker concurrency is set to 16 after load tests showed idle CPUs.'),
  },
  {
    name: 'milestones swapped',
    older: said('planner', 'design', 'The first milestone is the admin reporting dashboard.'),
    newer: said('lead', 'review', 'Reporting slips to milestone two; the first milestone is the supplier import.'),
  },
  {
    name: 'a provider dropped for another',
    older: said('backend', 'design', 'Customer addresses are validated with the Google Places API.'),
    newer: said('reviewer', 'review', 'We dropped Google Places for address validation over cost and use Loqate.'),
  },
  {
    name: 'a setting raised, the old value named in the reason',
    older: said('backend', 'design', "Set MAX_POOL_SIZE=10 for the API's Postgres pool."),
    newer: said('perf', 'review', 'MAX_POOL_SIZE goes to 30; at 10 connections requests queued during the sale.'),
  },
  {
    name: 'a file path as the subject',
    older: said('backend', 'design', 'src/config/flags.ts reads flags from environment variables at startup.'),
    newer: said(
      'reviewer',
      'review',
      'Flags in src/config/flags.ts are read from Unleash at request time, not from env vars at startup.',
    ),
  },
  {
    name: 'a cost factor raised after a review',
    older: said('security', 'design', 'Use bcrypt with cost 10 for passwords.'),
    newer: said('security-lead', 'review', 'bcrypt cost factor is 12 following the security review.'),
  },
  {
    name: 'in scope becomes out of scope',
    older: said('product', 'design', 'The recommendation widget is in scope for launch.'),
    newer: said('lead', 'review', 'The recommendation widget is out of scope for launch.'),
  },
  {
    name: 'a test runner replaced',
    older: said('frontend', 'design', 'Use Jest for unit tests.'),
    newer: said('reviewer', 'review', "Unit tests move to Vitest; Jest's ESM support was too fragile."),
  },
  {
    name: 'synchronous work moved to a job',
    older: said('backend', 'design', 'Order confirmation emails are sent synchronously in the request.'),
    newer: said('reviewer', 'review', 'Send order confirmation emails from a BullMQ job rather than in the request.'),
  },
  {
    name: 'a period doubled at a team’s request',
    older: said('support', 'design', 'Support tickets are auto-closed after 7 days without reply.'),
    newer: said('lead', 'review', "Auto-close for tickets is 14 days, per the support team's request."),
  },
  {
    name: 'web phase one pulls in mobile',
    older: said('planner', 'design', 'Phase one covers web checkout; the mobile app waits for phase two.'),
    newer: said('lead', 'review', 'Mobile checkout is pulled into phase one; the app store deadline moved up.'),
  },
  {
    name: 'two tasks swapped',
    older: said('planner', 'design', 'Start with the billing export, then the tax report.'),
    newer: said('lead', 'review', 'The tax report comes before the billing export; the filing deadline is sooner.'),
  },
  {
    name: 'a feature turned off again',
    older: said('frontend', 'design', 'Enable HTTP/2 server push for the storefront assets.'),
    newer: said('perf', 'review', 'Server push is turned off again; it slowed first loads in Chrome.'),
  },
  {
    name: 'a cache removed again',
    older: said('backend', 'design', 'Add a Redis cache in front of the product API.'),
    newer: said(
      'reviewer',
      'review',
      'Remove the product API Redis cache again; stale prices outweighed the latency win.',
    ),
  },
  {
    name: 'a width doubled',
    older: said('frontend', 'design', 'Thumbnails are 200 px wide.'),
    newer: said('designer', 'review', 'Use 400 px thumbnails so they stay sharp on retina screens.'),
  },
  {
    name: "a page size changed at a team's request",
    older: said('search', 'design', 'Search returns 20 results per page.'),
    newer: said('lead', 'review', '50 results per page in search, per the merchandising team.'),
  },
  {
    name: 'a minimum raised, citing guidance',
    older: said('security', 'design', 'Password minimum length is 8 characters.'),
    newer: said('security-lead', 'review', 'Require at least 12 characters for passwords, following NIST guidance.'),
  },
  {
    name: 'a rendering mode replaced',
    older: said('frontend', 'design', 'The checkout page is server-rendered.'),
    newer: said('lead', 'review', 'Checkout becomes a client-rendered SPA to support the new payment widget.'),
  },
  {
    name: 'a log backend replaced over cost',
    older: said('ops', 'design', 'Logs ship to Elasticsearch via Filebeat.'),
    newer: said('lead', 'review', 'We go with Loki for logs; Elasticsearch costs too much to run.'),
  },
  {
    name: 'a model postponed for rules',
    older: said('ml', 'design', 'Build the recommendations with a collaborative-filtering model.'),
    newer: said('lead', 'review', "Recommendations start as simple 'bought together' rules; the model is postponed."),
  },
  {
    name: 'a correction labelled as such',
    older: said('api', 'design', 'Order IDs are sequential integers exposed in URLs.'),
    newer: said(
      'security',
      'review',
      'Correction: public order references are random 12-character codes; sequential IDs leak sales volume.',
    ),
  },
  {
    name: 'a per-review change to a schedule',
    older: said('data', 'design', 'The sales dashboard refreshes every hour.'),
    newer: said('lead', 'review', 'Per review, the sales dashboard refreshes every 5 minutes during campaigns.'),
  },
  {
    name: 'an update to a threshold',
    older: said('risk', 'design', 'Orders above 1,000 EUR are held for fraud review.'),
    newer: said(
      'risk-lead',
      'review',
      'Update: the fraud review threshold is 2,500 EUR; 1,000 held too many honest orders.',
    ),
  },
  {
    name: 'a reviewer reverses a vendor choice after profiling',
    older: said('frontend', 'design', 'Charts are drawn with Highcharts.'),
    newer: said(
      'perf',
      'review',
      'After profiling, charts use uPlot; Highcharts was too heavy for the mobile dashboard.',
    ),
  },
  {
    name: 'a deadline pushed',
    older: said('planner', 'design', 'The beta opens on 1 March.'),
    newer: said(
      'lead',
      'review',
      'The beta opening moves to 15 March because the payment provider certification is late.',
    ),
  },
  {
    name: 'a framework swapped with the old one named as dropped',
    older: said('backend', 'design', 'The admin backend is built on Express.'),
    newer: said(
      'lead',
      'review',
      'We are dropping Express for Fastify in the admin backend; its schema validation saves us a layer.',
    ),
  },
  {
    name: 'a support window shortened',
    older: said('product', 'design', 'Old app versions are supported for 12 months.'),
    newer: said(
      'lead',
      'review',
      'App versions are supported for 6 months after release; twelve was too costly to test.',
    ),
  },
  // Batch 6, written after the third held-out benchmark set's misses were seen (a denial that says why
  // the old way breaks something; a denial of "extra" things).
  {
    name: 'a denial saying what the old way breaks',
    older: said('backend', 'design', 'Split large order exports into several files by region.'),
    newer: said('lead', 'design', 'No splitting of order exports across files: it breaks the accounting import.'),
  },
  {
    name: 'a denial of extra things',
    older: said(
      'ops',
      'design',
      'The checkout service is scaled to four replicas during the sale so deploys cause no outage.',
    ),
    newer: said(
      'lead',
      'review',
      'No extra checkout replicas during the sale: its owners accept a short slowdown during deploys, which are frozen that week.',
    ),
  },
  // Batch 7 (adv-context2): the same sentence from a later phase, only its choice (the words it ends
  // with, or right after a leading "Use") replaced — the plainest conflict; kept both after 7490504.
  {
    name: 'the same sentence, another store at its end',
    older: said('backend', 'design', 'The orders service stores its data in PostgreSQL.'),
    newer: said('lead', 'review', 'The orders service stores its data in MongoDB.'),
  },
  {
    name: 'the same sentence, another format at its end',
    older: said('data', 'design', 'The export format is CSV.'),
    newer: said('lead', 'review', 'The export format is Parquet.'),
  },
  {
    name: 'the same sentence, another weekday at its end',
    older: said('ops', 'design', 'Deploys happen on Tuesdays.'),
    newer: said('lead', 'review', 'Deploys happen on Thursdays.'),
  },
  {
    name: 'the same imperative, another tool right after "Use"',
    older: said('backend', 'design', 'Use Redis for the session cache.'),
    newer: said('lead', 'review', 'Use Memcached for the session cache.'),
  },
  // An eighth batch (an adversarial pass, written before the change): a revision that dismisses the
  // old choice by name ("Forget X", "Ditch X"), denies doing what it named ("we will not adopt X"),
  // or forbids what it allowed ("X stay forbidden").
  {
    name: 'the old tool dismissed by name ("Forget …")',
    older: said('frontend', 'design', 'Thumbnails are generated in the browser by a canvas worker.'),
    newer: said(
      'lead',
      'review',
      'Forget the canvas worker: thumbnails are made at upload time by a sharp job on the server.',
    ),
  },
  {
    name: 'the old library ditched by name',
    older: said('frontend', 'design', 'Dates on the dashboard are formatted with Moment.js.'),
    newer: said('lead', 'review', 'Ditch Moment.js; dashboard dates are formatted with date-fns, which tree-shakes.'),
  },
  {
    name: 'a vendor the older one chose, declined by name after a verb',
    older: said('ops', 'design', 'Uptime checks for the public endpoints move to Pingdom.'),
    newer: said(
      'lead',
      'review',
      'We will not adopt Pingdom (too costly for 40 checks); the public endpoints keep their Blackbox exporter probes.',
    ),
  },
  {
    name: 'a mechanism the older one chose, refused by name after a verb',
    older: said('network', 'design', 'Fail over the EU region by rewriting DNS records in Route 53 from a Lambda.'),
    newer: said(
      'lead',
      'review',
      'We do not rewrite Route 53 records from code: failover uses health-checked DNS failover records in the EU region.',
    ),
  },
  {
    name: 'what the older one allowed, forbidden again',
    older: said(
      'platform',
      'design',
      'Privileged containers are allowed in the build namespace so Docker-in-Docker works.',
    ),
    newer: said(
      'security',
      'review',
      'Privileged build containers remain forbidden: builds move to rootless BuildKit in the build namespace.',
    ),
  },
  {
    name: 'a value revised where "for" gives a duration, not a purpose',
    older: said('backend', 'design', 'Failed webhooks are retried every 10 minutes for an hour.'),
    newer: said('lead', 'review', 'Failed webhooks are retried every 2 minutes instead, for faster recovery.'),
  },
  {
    name: 'a vendor the older one chose, declined by name after a verb, no reason given',
    older: said('mobile', 'design', 'Product analytics events from the mobile apps move to Amplitude.'),
    newer: said(
      'lead',
      'review',
      'We will not license Amplitude; the apps send their events to our own ClickHouse pipeline.',
    ),
  },
  {
    name: 'a mechanism the older one chose, refused by name (an acronym) after a verb',
    older: said(
      'network',
      'design',
      'Abusive clients are blocked at the load balancer with a WAF rule set we maintain.',
    ),
    newer: said(
      'lead',
      'review',
      'We do not run a WAF ourselves: the platform team owns the load balancer, so we file IP blocks with them.',
    ),
  },
  {
    name: 'what the older one permitted, banned again by a later phase',
    older: said('frontend', 'design', 'Inline scripts are permitted on the checkout page so the payment widget loads.'),
    newer: said(
      'security',
      'review',
      'Inline checkout scripts stay banned; the widget gets a nonce-tagged script tag.',
    ),
  }, // A ninth batch, written after the misses of the third and fourth held-out benchmark sets were seen,
  // in words of its own and before the rules it tests: a revision that corrects the older one's value
  // under another name ("…, not 25"), denies what the older one opens with ("Don't squash …"), swaps
  // one word of the older one's phrase ("at upload time" → "at request time"), or says what it does
  // ", never" the older one's way.
  {
    name: 'a limit corrected under another name, the old value after ", not"',
    older: said('storage', 'design', 'Uploads are limited to 25 MB per file.'),
    newer: said(
      'lead',
      'review',
      'The largest attachment we accept is 10 MB, not 25, to match what mail gateways pass.',
    ),
  },
  {
    name: 'a retention corrected under another name, the old value after "rather than"',
    older: said('backup', 'design', 'Nightly database backups are kept for 14 days.'),
    newer: said('compliance', 'review', 'Snapshot retention is 35 days rather than 14, to cover the month-end close.'),
  },
  {
    name: 'what the older one opens with, denied ("Don\'t …") by another agent of its phase',
    older: said(
      'devex',
      'design',
      'Squash commits when merging feature branches into main, with the pull request title as the message.',
    ),
    newer: said(
      'reviewer',
      'design',
      "Don't squash commits: bisecting a regression needs every step a developer made.",
    ),
  },
  {
    name: 'what the older one opens with, denied ("Do not …"), the reason in other words',
    older: said('ci', 'design', 'Pin the CI runners to Ubuntu 20.04 images and cache apt packages between jobs.'),
    newer: said('lead', 'review', 'Do not pin the runners: 20.04 is out of support, so jobs follow ubuntu-latest.'),
  },
  {
    name: 'one word of the older phrase swapped ("at checkout time" → "at download time")',
    older: said(
      'billing',
      'design',
      'Invoice PDFs are rendered at checkout time by the order service and attached to the confirmation email.',
    ),
    newer: said(
      'lead',
      'review',
      'PDFs get made at download time instead, in a separate worker, so checkout stays fast.',
    ),
  },
  {
    name: 'one word of the older phrase swapped, the rest said in other words, by another agent of its phase',
    older: said(
      'images',
      'build',
      'Add watermarks at import time with an ImageMagick composite step in the import worker, writing new files under originals/v2, then flip the gallery symlink.',
    ),
    newer: said(
      'media',
      'build',
      'Apply the watermark at view time only, with a CDN image transform, so its text can change in the CDN config rather than by an import.',
    ),
  },
  {
    name: 'the older way refused after ", never"',
    older: said('platform', 'design', 'The nightly cleanup job deletes expired API keys.'),
    newer: said('security', 'review', 'Expired API keys are revoked, never deleted, so audits can still trace them.'),
  },
  // A tenth batch (an adversarial pass after the ninth, in words of its own): a revision that names
  // the old value in passing ("(was 20)", "previously 8"), ends what the older one did ("Stop
  // sending …"), scratches it, or says it is "no more".
  {
    name: 'the old value named in passing ("(was 20)"), the subject renamed',
    older: said('backend', 'design', 'Idle sessions are closed after 20 minutes.'),
    newer: said('lead', 'review', 'The inactivity cutoff is 45 minutes (was 20), per support.'),
  },
  {
    name: 'the old value named in passing ("previously 8")',
    older: said('ops', 'design', 'The worker pool runs 8 processes per host.'),
    newer: said('sre', 'review', 'Run 4 processes per host, previously 8; memory pressure killed jobs.'),
  },
  {
    name: 'what the older one does, stopped ("Stop sending …")',
    older: said('mail', 'design', 'Send a weekly digest email to every active user.'),
    newer: said('product', 'review', 'Stop sending the weekly digest; open rates were under 2%.'),
  },
  {
    name: 'the older choice scratched',
    older: said('data', 'design', 'Nightly exports are written as CSV to the reports bucket.'),
    newer: said('lead', 'review', 'Scratch the CSV exports: reports read Parquet files from the lake instead.'),
  },
  {
    name: 'the older practice declared "no more"',
    older: said('qa', 'design', 'Every release gets a manual smoke test on staging.'),
    newer: said('lead', 'review', 'Manual smoke tests are no more: the Playwright suite on staging gates releases.'),
  },
  // An eleventh batch (an adversarial pass, in words of its own, written before the rules): revisions
  // next to the exceptions and continuations below, which must stay recognised — a denial of the whole
  // rule, a threshold that changes the older one's value.
  {
    name: 'a rule for every item denied whole, no exception named',
    older: said('devex', 'design', 'Run the full test suite on every pull request.'),
    newer: said(
      'lead',
      'review',
      'No full test suite on pull requests: it takes 40 minutes; the smoke suite gates them.',
    ),
  },
  {
    name: 'a retry limit changed, the new limit after "after"',
    older: said('backend', 'design', 'Retry failed webhooks 5 times with exponential backoff.'),
    newer: said('lead', 'review', 'Webhooks stop retrying after 3 failures instead; partners complained about floods.'),
  },
  {
    name: 'a rule for all items denied whole, its subject repeated before the negation',
    older: said('platform', 'design', 'All services log to stdout in JSON.'),
    newer: said('lead', 'review', 'Services no longer log to stdout: the sidecar ships logs to Loki instead.'),
  },
  {
    name: 'what happens at the point the older one names, revised ("After 30 days, … instead")',
    older: said('data', 'design', 'Abandoned carts are deleted after 30 days.'),
    newer: said(
      'lead',
      'review',
      'After 30 days, carts move to cold storage instead; support needs them for disputes.',
    ),
  },
  {
    name: 'a practice changed "from now on", naming little of the old one',
    older: said('dba', 'design', 'Run the database migrations by hand before each deploy.'),
    newer: said('ops-lead', 'review', 'Database migrations run in CI from now on.'),
  },
  {
    name: 'a job moved elsewhere, what moves named between "move" and "to"',
    older: said('ops', 'design', 'Cron jobs run on the app servers.'),
    newer: said('platform-lead', 'review', 'Move the cron jobs to a dedicated scheduler service.'),
  },
  {
    name: 'a way replaced, the old one having drained something',
    older: said('mobile', 'design', 'The mobile app polls for notifications every 30 seconds.'),
    newer: said('lead', 'review', 'The mobile app gets notifications by push; polling drained batteries.'),
  },
  {
    name: 'a practice changed "going forward"',
    older: said('git', 'design', 'Feature branches are merged with squash commits.'),
    newer: said('lead', 'review', 'Going forward, feature branches are merged with rebase.'),
  },
];

/** Two decisions that are both current: neither may be dropped for the other. */
const nearMisses: Pair[] = [
  {
    name: 'a move of the machines an older decision keeps something on',
    older: said('ops', 'design', 'Application logs are kept for 30 days on the app servers.'),
    newer: said('platform', 'review', 'Move the app servers to Graviton instances.'),
  },
  {
    name: 'one first word, two compounds ("feature flags" / "feature branches"), a revision word on the second',
    older: said('frontend', 'design', 'Feature flags are toggled in LaunchDarkly.'),
    newer: said('git', 'review', 'Feature branches are merged with rebase instead.'),
  },
  {
    name: '"from now on" of another component that shares only the verb',
    older: said('platform', 'design', 'Deploy the API with Helm charts.'),
    newer: said('docs', 'review', 'From now on, deploy the docs site to Netlify.'),
  },
  {
    name: 'one technology, two components',
    older: said('backend', 'design', 'Use Redis for the session cache.'),
    newer: said('lead', 'review', 'Use Redis streams for the job queue.'),
  },
  {
    name: 'a refinement of the same decision',
    older: said('security', 'design', 'Passwords are hashed with argon2id.'),
    newer: said('reviewer', 'review', 'argon2id runs with 64 MB of memory, 3 iterations and parallelism 1.'),
  },
  {
    name: 'parallel agents, different components, different counts',
    older: said('web', 'build', 'The web client retries failed requests 3 times.'),
    newer: said('worker', 'build', 'The worker retries failed jobs 5 times with backoff.'),
  },
  {
    name: 'two expiries of different things',
    older: said('auth', 'design', 'Sessions expire after 30 days of inactivity.'),
    newer: said('lead', 'review', 'Password reset links expire after 1 hour.'),
  },
  {
    name: 'two changes to one table',
    older: said('dba', 'design', 'The orders table gets an index on customer_id.'),
    newer: said('lead', 'review', 'The orders table is partitioned by month.'),
  },
  {
    name: 'two caches with different lifetimes',
    older: said('backend', 'design', 'Cache product pages for 10 minutes.'),
    newer: said('search', 'review', 'Cache search results for 1 minute.'),
  },
  {
    name: 'the same database for one more service',
    older: said('architect', 'design', 'Billing uses PostgreSQL.'),
    newer: said('reviewer', 'review', 'The checkout service uses PostgreSQL too.'),
  },
  {
    name: 'two API conventions',
    older: said('api', 'design', 'API responses are JSON with camelCase keys.'),
    newer: said('lead', 'review', 'API errors follow RFC 7807 problem details.'),
  },
  {
    name: 'one setting in two environments',
    older: said('ops', 'design', 'The log level in production is info.'),
    newer: said('ops', 'build', 'The log level in staging is debug.'),
  },
  {
    name: 'two buckets',
    older: said('backend', 'design', 'Images are stored in the S3 bucket media-prod.'),
    newer: said('ops', 'review', 'Backups are stored in the S3 bucket backups-prod and move to Glacier after 30 days.'),
  },
  {
    name: 'a detail of a chosen provider',
    older: said('payments', 'design', 'Use Stripe for card payments.'),
    newer: said('reviewer', 'review', 'Stripe webhooks are verified with the endpoint secret.'),
  },
  {
    name: 'two deployments with different replica counts',
    older: said('ops', 'build', 'Deploy the API to Kubernetes with three replicas.'),
    newer: said('platform', 'build', 'Deploy the worker to Kubernetes with two replicas.'),
  },
  {
    name: 'two rate limits',
    older: said('security', 'design', 'Rate limit login attempts to 5 per minute per IP.'),
    newer: said('api', 'review', 'Rate limit the public API at 100 requests per minute per key.'),
  },
  {
    name: 'two messaging providers',
    older: said('backend', 'design', 'Emails are sent through Postmark.'),
    newer: said('lead', 'review', 'SMS messages are sent through Twilio.'),
  },
  {
    name: 'a later addition to one page, worded with "now"',
    older: said('frontend', 'design', 'Add a dark mode toggle to the settings page.'),
    newer: said('lead', 'review', 'The settings page now also gets a language picker.'),
  },
  {
    name: 'one component keeps an older runtime',
    older: said('ops', 'design', 'The checkout service runs on Node 20.'),
    newer: said('ops', 'review', "The image resizer stays on Node 18 because sharp's prebuilt binaries lag."),
  },
  {
    name: 'two facts about webhooks',
    older: said('integrations', 'design', 'Webhook deliveries are retried 8 times with exponential backoff.'),
    newer: said('security', 'review', 'Webhook payloads are signed with HMAC-SHA256.'),
  },
  {
    name: 'two behaviours of the mobile app',
    older: said('mobile', 'design', 'The mobile app caches the catalogue for offline use.'),
    newer: said('mobile-lead', 'review', 'The mobile app syncs orders in the background every 15 minutes.'),
  },
  {
    name: 'two state libraries for one app',
    older: said('frontend', 'design', 'Use React Query for server state in the storefront.'),
    newer: said('lead', 'review', 'Use Zustand for client state in the storefront.'),
  },
  {
    name: 'two timeouts',
    older: said('backend', 'design', 'Outbound HTTP calls time out after 5 seconds.'),
    newer: said('dba', 'review', 'Database queries time out after 30 seconds.'),
  },
  {
    name: 'a follow-up on a chosen search engine',
    older: said('search', 'design', 'Product search stays on Meilisearch.'),
    newer: said('lead', 'review', 'The Meilisearch index is rebuilt nightly from the products table.'),
  },
  {
    name: 'a priority followed by its first step',
    older: said('planner', 'design', 'Checkout is the first priority.'),
    newer: said('lead', 'review', 'Checkout work starts with the address form.'),
  },
  {
    name: 'parallel agents bundling different parts',
    older: said('frontend', 'build', 'The storefront bundles with Vite.'),
    newer: said('backend', 'build', 'Lambda handlers are bundled with esbuild.'),
  },
  {
    name: 'two storage formats',
    older: said('backend', 'design', 'Store money as integer cents.'),
    newer: said('reviewer', 'review', 'Store timestamps as UTC in timestamptz columns.'),
  },
  {
    name: 'a decision and a later one that builds on it with "instead of" about something else',
    older: said('api', 'design', 'Orders are exposed through a REST API.'),
    newer: said('lead', 'review', 'Order events are pushed to partners by webhook instead of being polled.'),
  },
  {
    name: 'two nightly jobs at different times',
    older: said('ops', 'design', 'Nightly backups run at 01:00 UTC.'),
    newer: said('reports', 'review', 'Nightly reports are emailed at 07:00 UTC.'),
  },
  {
    name: 'two debounces',
    older: said('frontend', 'design', 'Debounce search input by 300 ms.'),
    newer: said('editor', 'review', 'Debounce autosave in the editor by 2 seconds.'),
  },
  {
    name: 'two API styles for two audiences',
    older: said('api', 'design', 'Use GraphQL for the storefront API.'),
    newer: said('integrations', 'review', 'Use REST for the partner webhooks.'),
  },
  {
    name: 'a rule about guests after guests are allowed',
    older: said('product', 'design', 'Guest checkout is allowed.'),
    newer: said('lead', 'review', "Guest users can't leave product reviews."),
  },
  {
    name: 'a thumbnail format after the thumbnail timing',
    older: said('media', 'design', 'Thumbnails are generated on upload.'),
    newer: said('reviewer', 'review', 'Thumbnails are 320 px wide WebP images.'),
  },
  {
    name: 'two size limits',
    older: said('backend', 'design', 'Max upload size is 10 MB.'),
    newer: said('api', 'review', 'Max request body for the JSON API is 1 MB.'),
  },
  {
    name: 'two token lifetimes',
    older: said('security', 'design', 'Access tokens expire after 15 minutes.'),
    newer: said('security-lead', 'review', 'Refresh tokens expire after 30 days.'),
  },
  {
    name: 'error tracking and tracing',
    older: said('ops', 'design', 'Use Sentry for error tracking.'),
    newer: said('lead', 'review', 'Use OpenTelemetry for tracing.'),
  },
  {
    name: 'the same number for two components',
    older: said('worker', 'build', 'Queue workers run with concurrency 4.'),
    newer: said('web', 'build', 'The web server runs 4 Node processes per container.'),
  },
  {
    name: 'a milestone and a detail of its work',
    older: said('planner', 'design', 'The first milestone is the supplier import.'),
    newer: said('lead', 'review', 'The supplier import reads CSV and Excel files.'),
  },
  {
    name: 'two validators',
    older: said('backend', 'design', 'Addresses are validated with Loqate.'),
    newer: said('reviewer', 'review', 'Phone numbers are validated with libphonenumber.'),
  },
  {
    name: 'one agent, two review rules',
    older: said('risk', 'design', 'Orders over 500 EUR need manual review.'),
    newer: said('risk', 'design', 'Orders from new accounts need manual review for the first 30 days.'),
  },
  {
    name: 'two settings of one pool',
    older: said('backend', 'design', "Set MAX_POOL_SIZE=10 for the API's Postgres pool."),
    newer: said('dba', 'review', "Set STATEMENT_TIMEOUT=5s for the API's Postgres pool."),
  },
  {
    name: 'two branch rules',
    older: said('devex', 'design', 'Feature branches are merged with squash commits.'),
    newer: said('release', 'review', 'Release branches are cut every second Tuesday.'),
  },
  {
    name: 'two config files',
    older: said('backend', 'design', 'src/config/flags.ts reads flags at startup.'),
    newer: said('reviewer', 'review', 'src/config/env.ts validates environment variables with zod.'),
  },
  {
    name: 'hashing and signing',
    older: said('security', 'design', 'Use bcrypt with cost 12 for passwords.'),
    newer: said('security-lead', 'review', 'Use SHA-256 HMAC for API request signing.'),
  },
  {
    name: 'two CI triggers',
    older: said('devex', 'design', 'CI runs the e2e suite on merges to main.'),
    newer: said('lead', 'review', 'CI runs lint and unit tests on every pull request.'),
  },
  {
    name: 'one feature out, another in',
    older: said('product', 'design', 'The recommendation widget is out of scope for launch.'),
    newer: said('lead', 'review', 'The wishlist is in scope for launch.'),
  },
  {
    name: 'two things shown to the buyer',
    older: said('pricing', 'design', 'Prices are shown including VAT.'),
    newer: said('checkout', 'review', 'Shipping costs are shown at the cart step.'),
  },
  {
    name: 'two test runners for two kinds of tests',
    older: said('frontend', 'design', 'Use Vitest for unit tests.'),
    newer: said('qa', 'review', 'Use Playwright for end-to-end tests.'),
  },
  {
    name: 'another job, "rather than" about itself',
    older: said('backend', 'design', 'Order confirmation emails are sent from a BullMQ job.'),
    newer: said('billing', 'review', 'Invoice PDFs are generated in a BullMQ job rather than in the request handler.'),
  },
  {
    name: 'two retention periods of different things',
    older: said('support', 'design', 'Support tickets are auto-closed after 14 days without reply.'),
    newer: said('lead', 'review', 'Chat conversations are archived after 90 days.'),
  },
  {
    name: 'two phases, two scopes',
    older: said('planner', 'design', 'Phase one covers web checkout.'),
    newer: said('lead', 'review', 'Phase two covers the loyalty program.'),
  },
  {
    name: 'a first task and its format',
    older: said('planner', 'design', 'Start with the billing export.'),
    newer: said('finance', 'review', 'The billing export writes CSV with semicolons.'),
  },
  {
    name: 'two storefront settings',
    older: said('frontend', 'design', 'Enable HTTP/2 for the storefront.'),
    newer: said('perf', 'review', 'Enable Brotli compression for the storefront assets.'),
  },
  {
    name: 'two things in front of two parts',
    older: said('backend', 'design', 'Add a Redis cache in front of the product API.'),
    newer: said('ops', 'review', 'Add a CDN in front of the product images.'),
  },
  {
    name: 'two image widths',
    older: said('frontend', 'design', 'Thumbnails are 200 px wide.'),
    newer: said('designer', 'review', 'Hero banners are 1600 px wide.'),
  },
  {
    name: 'two page sizes',
    older: said('search', 'design', 'Search returns 20 results per page.'),
    newer: said('admin', 'review', 'The orders list shows 25 orders per page.'),
  },
  {
    name: 'two length rules',
    older: said('security', 'design', 'Password minimum length is 12 characters.'),
    newer: said('product', 'review', 'Usernames are 3 to 30 characters.'),
  },
  {
    name: 'two retention rules',
    older: said('data', 'design', 'Archive orders older than two years.'),
    newer: said('backend', 'review', 'Delete abandoned carts after 30 days.'),
  },
  {
    name: 'two things run on deploy',
    older: said('ops', 'design', 'Run database migrations automatically on deploy.'),
    newer: said('qa', 'review', 'Run smoke tests automatically after each deploy.'),
  },
  {
    name: 'two rendering modes for two parts',
    older: said('frontend', 'design', 'The checkout page is server-rendered.'),
    newer: said('content', 'review', 'The blog is statically generated at build time.'),
  },
  {
    name: 'logs and metrics',
    older: said('ops', 'design', 'Logs ship to Loki.'),
    newer: said('ops-lead', 'review', 'Metrics ship to Prometheus.'),
  },
  {
    name: 'how and where recommendations show',
    older: said('ml', 'design', "Recommendations use 'bought together' rules."),
    newer: said('frontend', 'review', 'Recommendations are shown on the product page below the reviews.'),
  },
  {
    name: 'two identifiers',
    older: said('api', 'design', 'Order references are random 12-character codes.'),
    newer: said('security', 'review', 'Customer IDs are UUIDv7.'),
  },
  {
    name: 'two refresh rates',
    older: said('data', 'design', 'The sales dashboard refreshes every 5 minutes.'),
    newer: said('lead', 'review', 'The inventory report refreshes nightly.'),
  },
  {
    name: 'two thresholds',
    older: said('risk', 'design', 'Orders above 2,500 EUR are held for fraud review.'),
    newer: said('risk-lead', 'review', 'Refunds above 500 EUR need a second approver.'),
  },
  {
    name: 'two chart libraries for two places',
    older: said('frontend', 'design', 'The admin dashboard charts use uPlot.'),
    newer: said('marketing', 'review', 'The marketing site embeds charts from Datawrapper.'),
  },
  {
    name: 'two dates',
    older: said('planner', 'design', 'The beta opens on 15 March.'),
    newer: said('lead', 'review', 'The public launch is on 1 June.'),
  },
  {
    name: 'two frameworks for two services',
    older: said('backend', 'design', 'The admin backend is built on Fastify.'),
    newer: said('lead', 'review', 'The storefront BFF is built on Hono.'),
  },
  {
    name: 'two memory limits',
    older: said('ops', 'design', 'Preview environments are capped at 512 MB of memory.'),
    newer: said('ops-lead', 'review', 'Production pods get 2 GB of memory.'),
  },
  {
    name: 'two languages for two pipelines',
    older: said('data', 'design', 'The import pipeline is written in TypeScript.'),
    newer: said('ml', 'review', 'The training pipeline is written in Python.'),
  },
  {
    name: 'two support windows',
    older: said('product', 'design', 'App versions are supported for 6 months after release.'),
    newer: said('lead', 'review', 'API versions are supported for 24 months.'),
  },
  {
    name: 'two signup defaults',
    older: said('legal', 'design', 'The newsletter box at signup is unchecked by default.'),
    newer: said('product', 'review', 'The remember-me box at login is checked by default.'),
  },
  {
    name: 'the same sentence about another API, its limit another value',
    older: said('backend', 'design', 'The admin API is rate limited to 100 requests per minute.'),
    newer: said('lead', 'review', 'The public API is rate limited to 10 requests per minute.'),
  },
  {
    name: 'the same sentence about another region (US, not the pronoun)',
    older: said('data', 'design', 'EU customers are stored in eu-west-1.'),
    newer: said('lead', 'review', 'US customers are stored in us-east-1.'),
  },
  {
    name: 'the same imperative for another purpose (what follows "for" is the subject)',
    older: said('backend', 'design', 'Use Redis for the session cache.'),
    newer: said('lead', 'review', 'Use Redis for the job queue.'),
  },
  {
    name: 'one tool for two purposes, the purpose its last word',
    older: said('backend', 'design', 'Use Redis for sessions.'),
    newer: said('lead', 'review', 'Use Redis for queues.'),
  },
  {
    name: 'the same place for other things',
    older: said('backend', 'design', 'Store invoices in S3.'),
    newer: said('lead', 'review', 'Store avatars in S3.'),
  },
  {
    name: 'the same sentence about another service',
    older: said('backend', 'design', 'The orders service stores its data in PostgreSQL.'),
    newer: said('lead', 'review', 'The payments service stores its data in PostgreSQL.'),
  },
  {
    name: 'the same sentence about another job',
    older: said('data', 'design', 'Run the nightly export at 02:00 UTC.'),
    newer: said('lead', 'review', 'Run the nightly import at 02:00 UTC.'),
  },
  {
    name: 'the same sentence about another platform',
    older: said('mobile', 'design', 'The iOS app is released every two weeks.'),
    newer: said('lead', 'review', 'The Android app is released every two weeks.'),
  },
  {
    name: 'a revision of another value, its subject sharing only a stem',
    older: said('auth', 'design', 'Sign-in is limited to 10 attempts per 15 minutes per account, counted in Redis.'),
    newer: said(
      'lead',
      'review',
      'Signed invoice links last 60 minutes rather than 5: large invoices on slow connections failed halfway.',
    ),
  },
  // The eighth batch's pairs that must stay: the same words, no dismissal, denial or ban of the older.
  {
    name: '"don\'t forget" is a reminder, not a dismissal',
    older: said('ops', 'design', 'Static assets are served from the CloudFront CDN with a one-year cache.'),
    newer: said('lead', 'review', "Don't forget to invalidate the CloudFront cache after each deploy."),
  },
  {
    name: 'a denial of what the older one never chose (lower-case words it names)',
    older: said('payments', 'design', 'Card numbers are tokenised by Stripe Elements in the browser.'),
    newer: said('lead', 'review', 'We do not store card numbers anywhere in our own database.'),
  },
  {
    name: "the older one's tool denied for another purpose",
    older: said('backend', 'design', 'Use Redis for the session cache.'),
    newer: said('lead', 'review', 'Do not use Redis for the job queue; jobs go to SQS.'),
  },
  {
    name: "a ban on something else in the older one's place",
    older: said('web', 'design', 'The web tier reads product data through the catalog API.'),
    newer: said('lead', 'review', 'Direct database access from the web tier is forbidden.'),
  },
  {
    name: 'a named thing the older one mentions, denied with more than its name',
    older: said('dba', 'design', 'Nightly backups of PostgreSQL go to S3 Glacier.'),
    newer: said('lead', 'review', 'We do not restore PostgreSQL backups automatically; a human checks each restore.'),
  },
  {
    name: 'a ban on a neighbour of what the older one allowed',
    older: said('platform', 'design', 'Contractors get read access to the staging cluster.'),
    newer: said('lead', 'review', 'Write access to the production cluster stays forbidden for contractors.'),
  },
  {
    name: "the older one's choice named in a denial of something else done with it",
    older: said('search', 'design', 'Search results are served by Elasticsearch.'),
    newer: said('lead', 'review', 'We do not expose Elasticsearch; it sits behind the API gateway.'),
  },
  // The ninth batch's pairs that must stay: a value changed from one the older one does not give, a
  // denial for another purpose or of an exception, a word refused that the older one merely uses, the
  // same phrase with another word in a decision on another thing.
  {
    name: 'a value changed "from" one the older one does not give',
    older: said('api', 'design', 'API responses are cached for 300 seconds.'),
    newer: said('ops', 'review', 'API health checks: the interval goes from 10 seconds to 5 seconds.'),
  },
  {
    name: 'what the older one opens with, denied for another purpose',
    older: said('platform', 'design', 'Stay on Node 20 for the API servers.'),
    newer: said('lead', 'review', 'Do not stay on Node 20 for the build agents; they move to Node 22.'),
  },
  {
    name: 'an exception to the older one, denied in more words',
    older: said('media', 'design', 'Compress images with sharp at upload.'),
    newer: said('lead', 'review', 'Do not compress images that are already WebP.'),
  },
  {
    name: 'an exception to the older one ("Don\'t …" on one kind of connection)',
    older: said('frontend', 'design', 'Prefetch product images on hover.'),
    newer: said('lead', 'review', "Don't prefetch product images on mobile data connections."),
  },
  {
    name: 'a word the older one uses, refused after ", never" of another thing',
    older: said('security', 'design', 'Log every failed login with the username and IP address.'),
    newer: said('lead', 'review', 'Passwords are hashed with argon2id, never logged.'),
  },
  {
    name: 'a numbered thing and a count of such things ("node 4" / "all 12 nodes"), no longer said of another',
    older: said('ops', 'design', 'The workaround was to drain node 4 by hand and reschedule its pods elsewhere.'),
    newer: said(
      'platform',
      'review',
      'Node upgrades use a disruption budget so an upgrade no longer evicts all 12 nodes at once.',
    ),
  },
  {
    name: 'the same phrase with another word, in a decision on another thing',
    older: said('search', 'design', 'Search indexes are rebuilt at deploy time from the primary database.'),
    newer: said('lead', 'review', 'Search suggestions are computed at query time from the last 30 days of searches.'),
  },
  // The tenth batch's pairs that must stay: an old value in passing that the older one does not give, a
  // limit ("no more than"), a rebuild "from scratch".
  {
    name: 'an old value in passing that the older one does not give ("(was 100 MB)")',
    older: said('storage', 'design', 'Image uploads are capped at 10 MB.'),
    newer: said('lead', 'review', 'Video uploads are capped at 200 MB (was 100 MB).'),
  },
  {
    name: 'a limit, "no more than", on something next to the older one',
    older: said('billing', 'design', 'Failed payments are retried at most 3 times.'),
    newer: said('lead', 'review', 'Send no more than 2 reminder emails per failed payment.'),
  },
  {
    name: 'one word of a phrase swapped, in a decision on another thing of the same product',
    older: said('media', 'design', 'Product images are resized at upload time by a worker.'),
    newer: said('lead', 'review', 'Product videos are transcoded at publish time by MediaConvert.'),
  },
  {
    name: '"previously" of a practice, not of a value',
    older: said('ops', 'design', 'Deploys go out at 10:00 UTC on weekdays.'),
    newer: said('lead', 'review', 'Services previously deployed by hand move into the weekday deploy train.'),
  },
  {
    name: '", never" of another thing than the older one decided',
    older: said('api', 'design', 'API errors return a JSON body with a code and a message.'),
    newer: said('lead', 'review', 'Error messages are written for users, never stack traces.'),
  },
  {
    name: 'a rebuild "from scratch" next to the older way of building',
    older: said('search', 'design', 'The search index is updated incrementally from the change feed.'),
    newer: said('lead', 'review', 'Once a month the search index is rebuilt from scratch to drop orphaned documents.'),
  },
  // The eleventh batch's pairs that must stay (the first two left superseded by the tenth pass; the
  // others in words of their own, written before the rules): an exception to a rule for every item
  // ("Don't … on draft pull requests"), and what happens once the older one's limit is reached.
  {
    name: 'an exception narrowed by one word to a rule for every item',
    older: said('devex', 'design', 'Run the full test suite on every pull request.'),
    newer: said('lead', 'review', "Don't run the full suite on draft pull requests."),
  },
  {
    name: 'what happens after the older rule runs out',
    older: said('backend', 'design', 'Retry failed webhooks 5 times with exponential backoff.'),
    newer: said('lead', 'review', 'After 5 failures, webhooks stop retrying and the endpoint is disabled.'),
  },
  {
    name: 'an exception to encrypting all backups, one kind of backup named',
    older: said('security', 'design', 'Encrypt all database backups with the KMS key.'),
    newer: said(
      'lead',
      'review',
      'Do not encrypt database scratch backups with the KMS key; they hold no customer data.',
    ),
  },
  {
    name: 'an exception for one kind of item, "each" in the older one',
    older: said('api', 'design', 'Log each incoming request body at debug level.'),
    newer: said('security', 'review', 'Never log incoming payment request bodies, at any level.'),
  },
  {
    name: 'what happens once an older limit is reached, "once" and the same value',
    older: said('auth', 'design', 'Allow 10 failed login attempts per account per hour.'),
    newer: said(
      'security',
      'review',
      'Once 10 failed attempts are reached, the account is locked and support is notified.',
    ),
  },
  // A second pass of the eleventh batch, after the rules above (written before their extension): the
  // older rule runs out with no value named, and an exception named by its subject, before the negation.
  {
    name: 'what happens once the older rule is used up, no value named ("Once retries are exhausted")',
    older: said('backend', 'design', 'Retry failed webhooks 5 times with exponential backoff.'),
    newer: said('lead', 'review', 'Once retries are exhausted, webhooks go to a dead-letter queue.'),
  },
  {
    name: 'an exception to a rule for all items, the item named before the negation',
    older: said('platform', 'design', 'All services log to stdout in JSON.'),
    newer: said('lead', 'review', 'The billing service does not log to stdout; it writes to the audit store.'),
  },
  {
    name: 'an exception with no negation: "every" swapped for the kind it leaves out',
    older: said('devex', 'design', 'Run the full test suite on every pull request.'),
    newer: said('lead', 'review', 'Skip the full suite on draft pull requests.'),
  },
  // A third pass, in words of its own, written before the rules were widened to it: an exception that
  // says what it does instead ("… instead of Helm", ", not SSE-KMS"), one named by a path, and what
  // happens once a retention the older one sets has run out, sharing most of its words.
  {
    name: 'an exception to a rule for every item that says what it does instead',
    older: said('platform', 'design', 'Deploy every service with Helm.'),
    newer: said('lead', 'review', 'Deploy the legacy billing service with plain manifests instead of Helm.'),
  },
  {
    name: 'an exception to a rule for all items, the item named by its path',
    older: said('security', 'design', 'All endpoints require a bearer token.'),
    newer: said('lead', 'review', 'The /health endpoint requires no token.'),
  },
  {
    name: 'an exception to a rule for all items, what it uses instead after ", not"',
    older: said('security', 'design', 'Encrypt all S3 buckets with SSE-KMS.'),
    newer: said('lead', 'review', 'Public asset buckets use SSE-S3, not SSE-KMS.'),
  },
  {
    name: "what happens once the older one's retention has run out, in most of its words",
    older: said('compliance', 'design', 'Keep audit logs for 7 years.'),
    newer: said('lead', 'review', 'Once 7 years have passed, audit logs are deleted by the retention job.'),
  },
];

/**
 * Revisions whose wording does not tell them from a second decision on one subject: nothing or too
 * little says the old choice is replaced (the subject renamed, the change carried by an opposite word
 * or by "only"; one agent's correction of itself that shares few words with what it corrects). They are not recognised: both stay, so the agent sees both and the newer one is never
 * lost (see docs/context.md, the limits of supersession).
 */
const unrecognised: Pair[] = [
  {
    name: 'a sign-in method replaced with no revision word, only a reason the old one failed in its own words',
    older: said('auth', 'design', 'Sign-in uses magic links sent by email.'),
    newer: said('lead', 'review', 'We will use passkeys for sign-in; magic links landed in spam for a third of users.'),
  },
  {
    name: 'a language choice overruled, "instead" naming nothing of the old one',
    older: said('data', 'design', 'The import pipeline is written in Python with pandas.'),
    newer: said(
      'lead',
      'review',
      'Write the import pipeline in TypeScript instead, so the team can maintain one language.',
    ),
  },
  {
    name: 'a limit restated in another unit (2 GB → capped at 512 MB)',
    older: said('ops', 'design', 'Each preview environment gets 2 GB of memory.'),
    newer: said('ops-lead', 'review', 'Preview environments are capped at 512 MB to fit 30 of them on the cluster.'),
  },
  {
    name: 'a default flipped by opposite words (pre-checked → unchecked)',
    older: said('product', 'design', 'Newsletter opt-in is pre-checked at signup.'),
    newer: said('legal', 'review', 'The newsletter box at signup must be unchecked by default under GDPR.'),
  },
  {
    name: 'an archiving rule reversed by opposite words (archive/cold → keep/hot)',
    older: said('data', 'design', 'Archive orders older than two years to cold storage.'),
    newer: said('finance', 'review', 'Keep orders hot for five years; finance needs them for audits.'),
  },
  {
    name: 'automation withdrawn by an opposite (automatically → by hand)',
    older: said('ops', 'design', 'Run database migrations automatically on deploy.'),
    newer: said('ops-lead', 'review', 'Migrations are applied by hand before deploys after the outage on the 3rd.'),
  },
  {
    name: 'one agent corrects itself in few shared words (one result: only a similar decision is revised)',
    older: said('planner', 'design', 'Deploy on Fridays after the QA sign-off.'),
    newer: said('planner', 'design', 'On reflection, deployments happen on Tuesday mornings, not Fridays.'),
  },
  {
    name: 'a branching model replaced, sharing two words with the old one',
    older: said('devex', 'design', 'Feature work happens on long-lived release branches (release/x.y).'),
    newer: said(
      'lead',
      'review',
      'We move to trunk-based development: short-lived branches merged daily, no release branches.',
    ),
  },
  {
    name: 'a CI trigger narrowed by "only", the reason a duration (PR for pull request)',
    older: said('devex', 'design', 'CI runs the full e2e suite on every pull request.'),
    newer: said('lead', 'review', 'The e2e suite runs only on merges to main; on every PR it took 40 minutes.'),
  },
  {
    name: 'a requirement lifted: only the opposite word says so',
    older: said('product', 'design', 'Checkout requires an account.'),
    newer: said('lead', 'review', 'Guest checkout is allowed; forcing an account cost conversions.'),
  },
  {
    name: 'a lifetime cut, the subject renamed (JWTs → access tokens)',
    older: said('security', 'design', 'JWTs expire after 24 hours.'),
    newer: said(
      'security-lead',
      'review',
      'Access tokens now expire after 15 minutes, with refresh tokens for 30 days.',
    ),
  },
  {
    name: 'a framework replaced in a later phase, without saying so',
    older: said('frontend', 'design', 'The admin UI is built with Vue 3.'),
    newer: said('lead', 'review', 'The admin UI will be React, like the storefront, to share the component library.'),
  },
];

/** A run's accumulator that filters even a small context and never caps it at a share of itself. */
const accumulatorFor = (runId: string): DynamicContextAccumulator =>
  new DynamicContextAccumulator({
    store: temp.store,
    runId,
    sizeLimitBytes: 1_000_000,
    clock,
    tuning: { smallContextTokens: 0, contextShare: 1 },
  });

/** Records the background, then the pair (older first), as an orchestrator would; returns the pair's entry ids. */
async function record(pair: Pair, runId: string): Promise<{ acc: DynamicContextAccumulator; ids: [string, string] }> {
  const acc = accumulatorFor(runId);
  const byAgent = new Map<string, Said[]>();
  for (const s of background) byAgent.set(s.agent, [...(byAgent.get(s.agent) ?? []), s]);
  for (const [agent, lines] of byAgent)
    await acc.add(extractContext({ text: lines.map((l) => l.text).join('\n') }), {
      agentId: agent,
      phaseId: 'research',
    });
  const ids: string[] = [];
  for (const s of [pair.older, pair.newer]) {
    const [entry] = await acc.add(extractContext({ text: s.text }), {
      agentId: s.agent,
      phaseId: s.phase,
      sessionId: `${s.agent}/${s.phase}`,
    });
    ids.push(entry!.id);
  }
  return { acc, ids: ids as [string, string] };
}

/** What an agent of the last phase inherits in full (`all`), and which decisions were left out for which. */
async function inherited(acc: DynamicContextAccumulator, task: string) {
  const all = await acc.select({ phaseIds: phases, task, mode: 'all', budgetTokens: 0 });
  const filtered = await acc.select({ phaseIds: phases, task, mode: 'filtered', budgetTokens: 2000 });
  return {
    all: all.entries.map((e) => e.id),
    given: filtered.entries.map((e) => e.id),
    superseded: filtered.superseded,
  };
}

const task = (pair: Pair): string => `Implement this: ${pair.older.text.replace(/^Decision: /, '')}`;

describe('supersession of unkeyed decisions', () => {
  it.each(revisions.map((p, i) => [p.name, p, i] as const))('replaces: %s', async (_name, pair, i) => {
    const { acc, ids } = await record(pair, `revision-${i}`);
    const [older, newer] = ids;
    // Asked in the old decision's own words, the agent gets the replacement and never the old one.
    const { all, given, superseded } = await inherited(acc, task(pair));
    expect(superseded).toEqual({ [older]: newer });
    expect(given).toContain(newer);
    expect(given).not.toContain(older);
    expect(all).toContain(newer);
    expect(all).not.toContain(older);
  });

  it.each([...nearMisses, ...unrecognised].map((p, i) => [p.name, p, i] as const))(
    'keeps both: %s',
    async (_name, pair, i) => {
      const { acc, ids } = await record(pair, `near-miss-${i}`);
      const { all, superseded } = await inherited(acc, task(pair));
      expect(superseded ?? {}).toEqual({});
      expect(all).toEqual(expect.arrayContaining(ids));
    },
  );
});

describe('a corrected value that several older decisions give', () => {
  /** Records each older decision from its own agent of the design phase, then the correction in review. */
  async function corrected(runId: string, olders: string[], correction: string) {
    const acc = accumulatorFor(runId);
    const ids: string[] = [];
    for (const [i, text] of olders.entries()) {
      const [entry] = await acc.add(extractContext({ text: `Decision: ${text}` }), {
        agentId: `designer-${i + 1}`,
        phaseId: 'design',
        sessionId: `designer-${i + 1}`,
      });
      ids.push(entry!.id);
    }
    await acc.add(extractContext({ text: `Decision: ${correction}` }), {
      agentId: 'lead',
      phaseId: 'review',
      sessionId: 'lead',
    });
    const all = await acc.select({ phaseIds: phases, task: correction, mode: 'all', budgetTokens: 0 });
    return { ids, given: all.entries.map((e) => e.id), superseded: all.superseded ?? {} };
  }

  it('replaces none when nothing but the value and unit says which one it corrects', async () => {
    const { ids, given, superseded } = await corrected(
      'ambiguous-value',
      ['Uploads are limited to 25 MB per file.', 'Outgoing emails are limited to 25 MB in total.'],
      'The largest attachment we accept is 10 MB, not 25.',
    );
    expect(superseded).toEqual({});
    expect(given).toEqual(expect.arrayContaining(ids));
  });

  it('replaces the one it names the subject of, and only that one', async () => {
    const { ids, given } = await corrected(
      'named-value',
      ['The search API times out after 200 ms.', 'The checkout API times out after 200 ms.'],
      'The search API timeout is 150 ms, not 200.',
    );
    expect(given).not.toContain(ids[0]);
    expect(given).toContain(ids[1]);
  });
});

/** One architect's decisions on one system, then a reviewer's: two revise, two add. */
const notificationDesign = [
  'Decision: The notification service is a separate Node service behind the API gateway.',
  'Decision: Notifications are queued in RabbitMQ with one queue per channel.',
  'Decision: Push notifications go through Firebase Cloud Messaging for Android and iOS.',
  'Decision: Email notifications are rendered with MJML templates stored in templates/email.',
  'Decision: Each user gets at most 5 marketing notifications per week.',
  'Decision: Notification preferences live in the users table as a JSONB column.',
  'Decision: Failed deliveries are retried 3 times, then moved to a dead-letter queue.',
  'Decision: Delivery receipts are kept for 30 days.',
];
const notificationReview = [
  // Revises the preferences storage.
  'Decision: Preferences get their own notification_preferences table; a JSONB column on users makes per-channel queries slow.',
  // Revises the marketing cap.
  'Decision: The marketing cap is lowered to 2 per week after the unsubscribe spike.',
  // Adds: a new decision on the same system.
  'Decision: SMS notifications go through Twilio for two-factor codes only.',
  // Adds: a detail of the queue, not a revision.
  'Decision: The RabbitMQ queues are durable and messages persistent.',
];

describe('supersession among many related decisions', () => {
  const [architect, reviewer] = [notificationDesign, notificationReview];

  it('supersedes exactly the decisions the reviewer revises', async () => {
    const acc = accumulatorFor('notifications');
    const designed = await acc.add(extractContext({ text: architect.join('\n') }), {
      agentId: 'architect',
      phaseId: 'design',
      sessionId: 'architect/design',
    });
    const reviewed = await acc.add(extractContext({ text: reviewer.join('\n') }), {
      agentId: 'reviewer',
      phaseId: 'review',
      sessionId: 'reviewer/review',
    });
    const { superseded } = await acc.select({
      phaseIds: ['design', 'review'],
      task: 'Implement the notification preferences screen and the marketing notification cap.',
      mode: 'filtered',
      budgetTokens: 2000,
    });
    expect(superseded).toEqual({ [designed[5]!.id]: reviewed[0]!.id, [designed[4]!.id]: reviewed[1]!.id });
  });
});

/** What an agent after phase `build` gets in full, its agents' results saved in the order given. */
async function inheritedFromOnePhase(runId: string, results: Said[]) {
  const acc = accumulatorFor(runId);
  for (const s of results)
    await acc.add(extractContext({ text: s.text }), {
      agentId: s.agent,
      phaseId: 'build',
      sessionId: `${runId}/${s.agent}`,
    });
  const selected = await acc.select({ phaseIds: ['build'], task: 'Ship it.', mode: 'all', budgetTokens: 0 });
  return selected.entries;
}

describe('contradictions between agents of one phase', () => {
  /** Two agents of phase `build` ran side by side; `first` finished first. Returns the entry ids by agent. */
  async function race(runId: string, first: Said, second: Said, tags: Record<string, string[]> = {}) {
    const acc = accumulatorFor(runId);
    const ids = new Map<string, string>();
    for (const s of [first, second]) {
      const drafts = extractContext({ text: s.text }).map((d) => ({
        ...d,
        tags: [...d.tags, ...(tags[s.agent] ?? [])],
      }));
      const [entry] = await acc.add(drafts, { agentId: s.agent, phaseId: s.phase, sessionId: `${runId}/${s.agent}` });
      ids.set(s.agent, entry!.id);
    }
    const { superseded } = await acc.select({
      phaseIds: ['build'],
      task: 'Ship the export.',
      mode: 'all',
      budgetTokens: 0,
    });
    return { ids, superseded: superseded ?? {} };
  }

  /** The superseded decision, by agent (old → new), whichever of the two finished first. */
  async function settled(a: Said, b: Said, tags: Record<string, string[]> = {}): Promise<string[]> {
    const verdicts: string[] = [];
    for (const [n, [first, second]] of [
      [a, b],
      [b, a],
    ].entries()) {
      const { ids, superseded } = await race(`phase-race-${a.agent}-${b.agent}-${n}-${now}`, first!, second!, tags);
      const agentOf = new Map([...ids].map(([agent, id]) => [id, agent]));
      verdicts.push(
        Object.entries(superseded)
          .map(([old, kept]) => `${agentOf.get(old)} → ${agentOf.get(kept)}`)
          .join(', '),
      );
    }
    return verdicts;
  }

  it('settles a plain conflict by agent id, not by which agent finished later', async () => {
    const verdicts = await settled(
      said('exporter-2', 'build', 'The export format is CSV.'),
      said('exporter-10', 'build', 'The export format is Parquet.'),
    );
    // Numbers compared as numbers: exporter-10 comes after exporter-2.
    expect(verdicts).toEqual(['exporter-2 → exporter-10', 'exporter-2 → exporter-10']);
  });

  it('lets the agent that says it revises the other win, whichever finished first and whatever its id', async () => {
    const verdicts = await settled(
      said('cache-b', 'build', 'Sessions are kept in Redis.'),
      said('cache-a', 'build', 'Keep sessions in PostgreSQL instead of Redis; one fewer service to run.'),
    );
    expect(verdicts).toEqual(['cache-b → cache-a', 'cache-b → cache-a']);
  });

  it('settles three contradicting agents alike in every finishing order', async () => {
    const said3 = [
      said('format-1', 'build', 'The export format is CSV.'),
      said('format-2', 'build', 'The export format is Parquet.'),
      said('format-3', 'build', 'The export format is Avro.'),
    ];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const outcomes = new Set<string>();
    for (const [n, order] of orders.entries()) {
      const entries = await inheritedFromOnePhase(
        `three-way-${n}-${now}`,
        order.map((i) => said3[i]!),
      );
      outcomes.add(entries.map((e) => e.agentId).join(' '));
    }
    expect([...outcomes]).toEqual(['format-3']);
  });

  it('settles many related decisions of two agents of one phase alike in both finishing orders', async () => {
    const outcomes = new Set<string>();
    const architect = { agent: 'architect', phase: 'build', text: notificationDesign.join('\n') };
    const reviewer = { agent: 'reviewer', phase: 'build', text: notificationReview.join('\n') };
    for (const order of [
      [architect, reviewer],
      [reviewer, architect],
    ]) {
      const entries = await inheritedFromOnePhase(`many-one-phase-${order[0]!.agent}`, order);
      outcomes.add(entries.map((e) => e.content).join('\n'));
    }
    expect(outcomes.size).toBe(1);
    const [kept] = [...outcomes];
    expect(kept).not.toContain('JSONB column.');
    expect(kept).not.toContain('at most 5 marketing');
  });

  it("gives a judge's or reducer's decision the last word over the phase's agents", async () => {
    for (const role of ['judge', 'reducer']) {
      const verdicts = await settled(
        said('writer', 'build', 'The export format is CSV.'),
        said(`build.${role}`, 'build', 'The export format is Parquet.'),
        { [`build.${role}`]: [`baton:${role}`] },
      );
      expect(verdicts).toEqual([`writer → build.${role}`, `writer → build.${role}`]);
    }
  });
});
