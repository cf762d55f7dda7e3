/**
 * Workflows for the context_quality benchmark: what earlier agents reported (as result text with
 * marked lines, the way agents write them) and, for each later agent, its task — worded the way a
 * user would write it, paraphrasing rather than copying the facts it needs — and which facts it needs.
 * Fact ids are `<agent>.<n>` (the n-th marked line of that agent's result, from 1).
 */
export interface BenchAgentResult {
  agent: string;
  phase: string;
  /** The agent's final message, marked lines included. */
  text: string;
}

export interface BenchChild {
  id: string;
  phase: string;
  /** Phases it inherits from (its dependencies, transitively), oldest first. */
  inherits: string[];
  task: string;
  role?: string;
  /** Fact ids it needs. */
  needs: string[];
}

export interface BenchWorkflow {
  name: string;
  description: string;
  results: BenchAgentResult[];
  /** Phases whose aggregated output (strategy `all`) is also passed on, as the orchestrator does. */
  phaseOutputs: string[];
  /** Older fact id → the id of the newer fact that replaces it (unkeyed contradictions). */
  superseded: Record<string, string>;
  /** Groups of fact ids that say the same thing: having any one of a group is having it. */
  duplicates: string[][];
  children: BenchChild[];
}

const researchers: BenchWorkflow = {
  name: 'researchers-to-implementers',
  description: 'five researchers survey a shop before six implementers rebuild its checkout',
  phaseOutputs: ['research'],
  superseded: {},
  duplicates: [],
  results: [
    {
      agent: 'payments',
      phase: 'research',
      text: `I went through the payment integration end to end.
Finding: Card payments go through Stripe using PaymentIntents; the legacy Charges API calls were removed in 2023.
Finding: The Stripe webhook handler lives in src/payments/webhooks.ts and verifies the Stripe-Signature header with the endpoint secret.
Finding: Webhook events are processed idempotently by storing the event id in the processed_events table before acting on it.
Decision: Amounts are stored as integer minor units (cents) everywhere; never use floating point for money.
Finding: Refunds are issued from the admin panel only and call stripe.refunds.create with the original PaymentIntent id.
Finding: Apple Pay and Google Pay are enabled through the Payment Request Button; the domain verification file is served from /.well-known/apple-developer-merchantid-domain-association.
Decision: 3-D Secure is requested automatically by Stripe (request_three_d_secure: automatic); we do not force it.
Finding: Failed payments are retried by Stripe Smart Retries for subscriptions only, not for one-off orders.
Finding: Currency is fixed per storefront: EUR for the EU store, GBP for the UK store, USD otherwise.
Error: The sandbox webhook endpoint returns 500 when the event type is unknown instead of acknowledging with 200.
Finding: Payouts are reconciled nightly by jobs/reconcile-payouts.ts against the ledger table.
File changed: none
Finding: Stripe API version is pinned to 2024-06-20 in src/payments/stripe.ts.
Artifact: docs/research/payments.md with the full call graph of the payment flow.`,
    },
    {
      agent: 'data',
      phase: 'research',
      text: `Database survey done.
Finding: The shop runs on PostgreSQL 15 with one primary and two read replicas; reads of order history go to replicas.
Finding: Orders live in the orders table with order_items as children; totals are denormalised into orders.total_cents.
Decision: New tables use UUIDv7 primary keys generated in the application, not serial integers.
Finding: Migrations are written with node-pg-migrate and live in db/migrations; each migration must be reversible.
Finding: The carts table keeps abandoned carts for 30 days; a cron job purges older rows at 03:00 UTC.
Decision: Inventory is reserved with SELECT … FOR UPDATE SKIP LOCKED on the stock_levels row when an order is placed.
Finding: Customer addresses are stored in a separate addresses table and copied onto the order at purchase time so later edits do not change past orders.
Finding: Coupons are in the promotions table; a coupon has max_redemptions and a per_customer_limit.
Finding: Tax rates come from the tax_rates table keyed by country and product tax class; there is no external tax service.
Finding: Soft deletes use a deleted_at column on products and customers; queries must filter deleted_at IS NULL.
Error: The order_items.product_id foreign key has no index, so deleting a product scans the whole table.
Finding: Connection pooling is done by PgBouncer in transaction mode, so session-level features (advisory locks held across transactions, prepared statements) are unavailable.
File changed: none
Artifact: docs/research/schema.svg, an ER diagram of the checkout tables.`,
    },
    {
      agent: 'frontend',
      phase: 'research',
      text: `Frontend notes below.
Finding: The storefront is a Next.js 14 app using the App Router; checkout pages are under app/(shop)/checkout.
Finding: Cart state is kept in a Zustand store persisted to localStorage under the key cart-v2.
Decision: Forms use react-hook-form with zod schemas shared with the API from packages/schemas.
Finding: The address form uses the Google Places Autocomplete widget; its API key is restricted to our domains.
Finding: Stripe Elements is loaded lazily only on the payment step to keep the first checkout page under 150 kB of JavaScript.
Finding: All user-facing strings go through next-intl; translations live in messages/<locale>.json and German and French are required for launch.
Decision: Prices are formatted on the client with Intl.NumberFormat using the storefront currency, never concatenated by hand.
Finding: The design system is in packages/ui (Tailwind + Radix); the checkout stepper component already exists as <Stepper>.
Finding: Accessibility audit found the payment step's error messages are not announced to screen readers (no aria-live region).
Finding: Playwright end-to-end tests live in e2e/ and run against a seeded preview environment.
Error: The shipping step crashes on Safari 16 because of an unsupported structuredClone call in the cart store.
Finding: Analytics events are sent with the useTrack hook to Segment; checkout_started and order_completed already exist.
Finding: Guest checkout is allowed; an account can be created after the order from the confirmation page.
File changed: none`,
    },
    {
      agent: 'infra',
      phase: 'research',
      text: `Infrastructure overview.
Finding: Services run on Kubernetes (EKS) in eu-west-1; each service has a Helm chart in deploy/charts.
Finding: Background jobs run on BullMQ with Redis 7 (ElastiCache); queues are defined in src/jobs/queues.ts.
Decision: Every service logs structured JSON with pino; log lines must carry the request id from the x-request-id header.
Finding: Metrics are scraped by Prometheus; dashboards are in Grafana under the Checkout folder.
Finding: Secrets come from AWS Secrets Manager through the External Secrets operator; nothing is read from .env files in production.
Finding: CI is GitHub Actions; the deploy workflow needs a green run of unit and e2e tests and a manual approval for production.
Decision: Feature flags use Unleash; new checkout behaviour ships behind the flag checkout-v2 and is rolled out by percentage.
Finding: Transactional emails are sent through Postmark from the mailer service; templates are in services/mailer/templates.
Finding: The API gateway rate-limits checkout endpoints to 20 requests per minute per IP.
Finding: Order confirmation PDFs are rendered by a headless Chromium worker that takes about 2 s per invoice.
Error: The staging Redis instance is too small: BullMQ jobs were evicted under load last week.
Finding: Error tracking is Sentry; releases are tagged with the git SHA.
File changed: none
Artifact: docs/research/infra.md with the service map.`,
    },
    {
      agent: 'security',
      phase: 'research',
      text: `Security review of the current checkout.
Finding: Sessions are stored server-side in Redis; the browser holds only an opaque session id in an HttpOnly, Secure, SameSite=Lax cookie.
Decision: Customer passwords are hashed with argon2id (64 MB memory, 3 iterations); bcrypt hashes are rehashed on next sign-in.
Finding: CSRF protection uses the double-submit token pattern; the token comes from GET /api/csrf.
Finding: Card data never touches our servers; Stripe Elements keeps us in PCI DSS SAQ A scope.
Finding: The Content-Security-Policy allows js.stripe.com and maps.googleapis.com; any new third-party script needs a CSP change.
Decision: Personal data must not be written to logs: email addresses and street addresses are redacted by the pino redaction config.
Finding: Two-factor authentication (TOTP) is optional for customers and mandatory for admin users.
Finding: Login attempts are throttled: after 5 failures in 15 minutes the account is locked for 15 minutes.
Finding: Admin actions (refunds, price changes) are written to the audit_log table with the admin's id.
Error: The password reset link does not expire; reset tokens should be single-use and valid for 30 minutes.
Finding: Dependency scanning runs with npm audit in CI and fails on high severity advisories.
Finding: Fraud screening uses Stripe Radar rules; orders above 1,000 EUR are held for manual review.
File changed: none
Finding: GDPR data export and deletion requests are handled by the privacy service within 30 days.`,
    },
  ],
  children: [
    {
      id: 'payment-step',
      phase: 'implement',
      inherits: ['research'],
      task: 'Build the new pay page of the checkout: let shoppers pay by card or wallet (Apple Pay, Google Pay), handle bank authentication challenges, and show what went wrong when a card is declined.',
      role: 'You are a senior frontend engineer.',
      needs: ['payments.1', 'payments.6', 'payments.7', 'frontend.5', 'frontend.9', 'security.4', 'security.5'],
    },
    {
      id: 'order-placement',
      phase: 'implement',
      inherits: ['research'],
      task: 'Write the backend endpoint that turns a cart into an order: hold the stock, apply discount codes, compute tax and the grand total, and save everything in one transaction.',
      role: 'You are a backend engineer.',
      needs: ['payments.4', 'data.2', 'data.3', 'data.6', 'data.7', 'data.8', 'data.9', 'data.12'],
    },
    {
      id: 'stripe-events',
      phase: 'implement',
      inherits: ['research'],
      task: 'Make our handling of incoming Stripe notifications robust: acknowledge event kinds we do not know, never process the same notification twice, and check that each call really comes from Stripe.',
      role: 'You are a backend engineer.',
      needs: ['payments.2', 'payments.3', 'payments.10'],
    },
    {
      id: 'confirmation-email',
      phase: 'implement',
      inherits: ['research'],
      task: 'After an order is placed, send the customer a confirmation message with the invoice attached, in their language, without slowing down the request.',
      role: 'You are a backend engineer.',
      needs: ['infra.2', 'infra.8', 'infra.10', 'frontend.6', 'security.6'],
    },
    {
      id: 'account-security',
      phase: 'implement',
      inherits: ['research'],
      task: 'Harden customer accounts: fix the forgotten-password flow, keep brute-force protection on sign in, and make sure credentials are stored the way the team agreed.',
      role: 'You are a security engineer.',
      needs: ['security.2', 'security.8', 'security.10', 'security.1'],
    },
    {
      id: 'rollout',
      phase: 'implement',
      inherits: ['research'],
      task: 'Prepare the production launch of the new checkout: gradual release to a share of users, logging and monitoring we can watch during the launch, and the release pipeline requirements.',
      role: 'You are a site reliability engineer.',
      needs: ['infra.3', 'infra.4', 'infra.6', 'infra.7', 'infra.12'],
    },
  ],
};

const chain: BenchWorkflow = {
  name: 'five-phase-chain',
  description: 'requirements → design → build → test → release for a report export feature',
  phaseOutputs: [],
  superseded: { 'architect.2': 'reviewer.1' },
  duplicates: [],
  results: [
    {
      agent: 'analyst',
      phase: 'requirements',
      text: `Requirements gathered from the product brief.
Finding: Finance wants a monthly export of all invoices as CSV and as XLSX.
Finding: Exports can contain up to 2 million rows for the largest tenants.
Decision: An export covers one calendar month in the tenant's time zone.
Finding: Only users with the finance-admin role may start or download an export.
Finding: Downloads must stay available for 7 days and then be deleted.
Finding: The product brief says the user interface copy is owned by the docs team.
Finding: Columns requested: invoice number, issue date, customer name, net amount, VAT amount, gross amount, currency, status.`,
    },
    {
      agent: 'architect',
      phase: 'design',
      text: `Design notes.
Decision: Exports run as background jobs on the existing BullMQ export queue, never inside the HTTP request.
Decision[export-format]: XLSX files are written with exceljs in streaming mode.
Decision: The finished file is uploaded to the S3 bucket baton-exports under tenants/<tenantId>/exports/<exportId>.<ext>.
Decision: Users get a pre-signed S3 URL valid for 15 minutes each time they click download.
Decision: Rows are read from the read replica with a server-side cursor in batches of 5,000.
Finding: The invoices table has an index on (tenant_id, issued_at), which matches the monthly filter.
File changed: none`,
    },
    {
      agent: 'reviewer',
      phase: 'design',
      text: `Review of the design.
Decision[export-format]: XLSX is dropped for the first release; only CSV is produced, because exceljs streaming could not keep memory under 512 MB at 2 million rows.
Decision: Amounts in the CSV are written as decimal strings with two places and a dot as separator, whatever the user's locale.
Finding: An S3 lifecycle rule can delete objects after 7 days, so no cleanup job is needed.
Decision: The export job status is stored in a new exports table (id, tenant_id, month, status, row_count, object_key, created_by).`,
    },
    {
      agent: 'builder',
      phase: 'build',
      text: `Implemented the export.
File changed: src/exports/job.ts — the BullMQ processor streams invoice rows through csv-stringify to S3.
File changed: db/migrations/20240611_exports.sql — the exports table.
File changed: src/exports/routes.ts — POST /exports starts a job, GET /exports/:id/download returns a pre-signed URL.
Finding: csv-stringify needed the bom option so Excel opens UTF-8 customer names correctly.
Error: The first run timed out at 600 s for a 2-million-row tenant; raising the cursor batch size to 20,000 fixed it (210 s).
Decision: Job progress is reported every 50,000 rows via job.updateProgress.`,
    },
    {
      agent: 'tester',
      phase: 'test',
      text: `Testing report.
Finding: Unit tests cover the CSV row formatting, including negative amounts for credit notes.
Finding: A load test with 2 million rows took 210 s and peaked at 180 MB of memory.
Error: The download route returns 500 instead of 404 when the export id does not exist.
Finding: Permissions were verified: a user without finance-admin gets 403 on both routes.
File changed: none`,
    },
  ],
  children: [
    {
      id: 'designer',
      phase: 'design',
      inherits: ['requirements'],
      task: 'Design how a finance user gets a month of invoices out of the system as a spreadsheet file, for very large customers too, and who is allowed to do it.',
      needs: ['analyst.1', 'analyst.2', 'analyst.3', 'analyst.4', 'analyst.7'],
    },
    {
      id: 'implementer',
      phase: 'build',
      inherits: ['requirements', 'design'],
      task: 'Implement the invoice export worker and its two API routes according to the agreed design, including what file format to produce and how money values are written.',
      needs: [
        'architect.1',
        'reviewer.1',
        'reviewer.2',
        'architect.3',
        'architect.4',
        'architect.5',
        'reviewer.4',
        'analyst.7',
      ],
    },
    {
      id: 'qa',
      phase: 'test',
      inherits: ['requirements', 'design', 'build'],
      task: 'Write tests for the export feature: access control, the output file contents for refunds and foreign customer names, and performance for the biggest accounts.',
      needs: ['analyst.2', 'analyst.4', 'builder.4', 'builder.5', 'reviewer.2', 'analyst.7'],
    },
    {
      id: 'release-notes',
      phase: 'release',
      inherits: ['requirements', 'design', 'build', 'test'],
      task: 'Write the release notes and the operator runbook for the export: which formats are supported, how long download links and stored files last, known bugs still open.',
      needs: ['reviewer.1', 'architect.4', 'reviewer.3', 'analyst.5', 'tester.3'],
    },
    {
      id: 'bugfix',
      phase: 'release',
      inherits: ['requirements', 'design', 'build', 'test'],
      task: 'Fix the status code returned when someone asks to download an export that does not exist.',
      needs: ['tester.3', 'builder.3'],
    },
  ],
};

const swarm: BenchWorkflow = {
  name: 'swarm-with-duplicates',
  description:
    'eight agents explore a monolith for a logging migration; several find the same things, and decisions change',
  phaseOutputs: ['explore'],
  superseded: { 'explorer-1.4': 'explorer-6.2', 'explorer-2.3': 'explorer-7.1', 'explorer-3.4': 'explorer-8.2' },
  duplicates: [
    ['explorer-1.1', 'explorer-4.1', 'explorer-5.1'],
    ['explorer-2.1', 'explorer-6.1'],
    ['explorer-3.1', 'explorer-7.3'],
    ['explorer-1.2', 'explorer-8.1'],
  ],
  results: [
    {
      agent: 'explorer-1',
      phase: 'explore',
      text: `Explored the api package.
Finding: The api package logs with console.log and a homemade formatter in src/api/util/log.ts.
Finding: Request ids are generated in src/api/middleware/requestId.ts but never passed to the logger.
Finding: About 340 console.log calls exist in src/api alone.
Decision: The new logger will be winston with a JSON transport.
Finding: Health check endpoints log every call, producing 40% of all log volume.`,
    },
    {
      agent: 'explorer-2',
      phase: 'explore',
      text: `Explored the worker package.
Finding: Background workers write logs to /var/log/worker.log with log4js and rotate daily.
Finding: Worker job ids appear in log lines as [job:<id>], which the on-call runbook greps for.
Decision: Log level in production will be warn.
Finding: The worker prints full job payloads, including customer email addresses, at debug level.`,
    },
    {
      agent: 'explorer-3',
      phase: 'explore',
      text: `Explored shipping and the log pipeline.
Finding: Logs are shipped by a Fluent Bit DaemonSet to Elasticsearch; the index pattern is app-logs-*.
Finding: Elasticsearch rejects documents whose field types conflict, e.g. "status" as a number in one service and a string in another.
Finding: Log retention in Elasticsearch is 14 days.
Decision: Each log line gets a service field set from the SERVICE_NAME environment variable.`,
    },
    {
      agent: 'explorer-4',
      phase: 'explore',
      text: `Looked at api logging as well.
Finding: In src/api, logging is done through console.log plus a hand-written formatter (src/api/util/log.ts).
Finding: Unit tests assert on console.log output in 12 test files, which will break when the logger changes.
File changed: none`,
    },
    {
      agent: 'explorer-5',
      phase: 'explore',
      text: `Quick pass over the api.
Finding: The API uses console.log with a custom formatter in src/api/util/log.ts for all its logging.
Finding: The admin dashboard reads the last 100 log lines from a Redis list named logs:recent.
Error: none`,
    },
    {
      agent: 'explorer-6',
      phase: 'explore',
      text: `Explored workers and decided on the library.
Finding: The worker package uses log4js writing to /var/log/worker.log, rotated every day.
Decision: We switch to pino instead of winston: it is about five times faster and its JSON output needs no transport.
Finding: pino-http can attach the request id to every log line of a request if it is given genReqId.`,
    },
    {
      agent: 'explorer-7',
      phase: 'explore',
      text: `Production settings.
Decision: Production log level will be info, not warn, so that request summaries are kept.
Finding: Sampling health-check logs at 1% would cut log volume by about a third.
Finding: Shipping goes through Fluent Bit into Elasticsearch (index app-logs-*).`,
    },
    {
      agent: 'explorer-8',
      phase: 'explore',
      text: `Cross-cutting concerns.
Finding: Request ids are created by src/api/middleware/requestId.ts, yet the logger never receives them.
Decision: The service field of each log line comes from the package name in package.json rather than from SERVICE_NAME.
Finding: Redaction of personal data can be done with pino's redact option using paths like req.headers.authorization and *.email.`,
    },
  ],
  children: [
    {
      id: 'logger-setup',
      phase: 'migrate',
      inherits: ['explore'],
      task: 'Create the shared logging module every package will import: pick the library we agreed on, set the default verbosity for production, and tag each line with the name of the service.',
      needs: ['explorer-6.2', 'explorer-7.1', 'explorer-8.2'],
    },
    {
      id: 'api-migration',
      phase: 'migrate',
      inherits: ['explore'],
      task: 'Move the HTTP API off its current ad-hoc console output onto the new logger, carry the correlation id of each request into its log entries, and keep the test suite passing.',
      needs: ['explorer-1.1', 'explorer-1.2', 'explorer-4.2', 'explorer-6.3', 'explorer-1.3'],
    },
    {
      id: 'worker-migration',
      phase: 'migrate',
      inherits: ['explore'],
      task: 'Port the background job processors to the new logger without breaking how on-call engineers search for a job, and stop leaking customer contact details.',
      needs: ['explorer-2.1', 'explorer-2.2', 'explorer-2.4', 'explorer-8.3'],
    },
    {
      id: 'pipeline',
      phase: 'migrate',
      inherits: ['explore'],
      task: 'Adjust the log shipping and search cluster for the new format: avoid mapping clashes between services and reduce the volume from noisy probes.',
      needs: ['explorer-3.1', 'explorer-3.2', 'explorer-1.5', 'explorer-7.2'],
    },
  ],
};

export const contextWorkflows: BenchWorkflow[] = [researchers, chain, swarm];
