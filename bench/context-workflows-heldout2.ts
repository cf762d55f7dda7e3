import type { BenchWorkflow } from './context-workflows.js';

/**
 * A second held-out set for the context_quality benchmark, written without looking at the selection
 * method or at which facts it misses, in domains unlike the tuned and first held-out sets: a data
 * pipeline migration, a security audit followed by fixes, an accessibility pass. Empty facts ("File
 * changed: none") come last in a result so that fact numbering does not depend on whether they are kept.
 */
const warehouse: BenchWorkflow = {
  name: 'warehouse-migration',
  description:
    'four surveyors inventory a nightly ETL, two planners design (and revise) its move to dbt on Snowflake, three builders migrate it, a validator compares, and later agents build, check and cut over',
  phaseOutputs: ['inventory'],
  superseded: {
    'architect.3': 'plan-review.1',
    'architect.4': 'plan-review.2',
    'architect.10': 'plan-review.3',
    'architect.11': 'dbt-builder.7',
  },
  duplicates: [],
  results: [
    {
      agent: 'sources',
      phase: 'inventory',
      text: `I traced every input of the nightly load.
Finding: The nightly ETL runs from a crontab on the etl-01 VM at 02:15 UTC; the entry point scripts/nightly.sh calls twelve Python scripts one after the other.
Finding: Orders are extracted from the production MySQL 5.7 read replica (orders-ro.internal) with full-table SELECTs; the orders table has 48 million rows and grows by about 90,000 a day.
Finding: orders.updated_at is indexed, but the GDPR purge hard-deletes rows, so deleted orders leave no trace in the source.
Finding: Marketing spend is pulled from the Google Ads and Meta Ads APIs by a vendored script, ads_pull.py; the Meta access token expires every 60 days and is renewed by hand.
Finding: Currency rates are downloaded daily as CSV from the ECB reference rates at 16:00 CET; weekends and TARGET holidays have no rows.
Finding: The HubSpot CRM export is a weekly full dump dropped on sftp.partner.example every Monday at 05:00 UTC.
Error: ads_pull.py writes an empty file when the Google Ads API answers with a quota error, and the load step then truncates the ad_spend table.
Finding: MySQL DATETIME columns hold Europe/Berlin local time without a zone, while the event stream uses UTC epoch milliseconds.
Finding: Product events (page views, add to basket) land in S3 as gzipped JSON lines under s3://acme-events/raw/dt=YYYY-MM-DD/, about 30 GB a day.
Finding: etl-01 runs Python 3.6 with pandas 0.25; several scripts rely on DataFrame.append, which pandas 2 removed.
Finding: The same crontab also runs a disk clean-up job and the Let's Encrypt renewal for the internal wiki, both unrelated to the ETL.
File changed: none`,
    },
    {
      agent: 'transforms',
      phase: 'inventory',
      text: `Transformation logic, file by file.
Finding: The business logic is 31 SQL files under etl/sql, run by run_sql.py with string substitution of {{ds}} for the run date.
Finding: Revenue is computed in etl/sql/fct_revenue.sql as gross order value minus refunds minus vouchers, converted to EUR at the rate of the order date.
Finding: Refunds are joined on order_id, and partial refunds can arrive up to 120 days after the order, so revenue of past days keeps changing.
Finding: Customers are deduplicated by lower-cased email address; about 2% of customers have more than one account.
Finding: The sessions script stitches events into sessions with a 30-minute inactivity gap and takes 2 h 40 min of the nightly window.
Error: fct_revenue.sql inner-joins the currency table, so orders placed on days without an ECB rate (weekends, holidays) are missing from revenue.
Finding: Three SQL files (legacy_kpis_2019.sql, tmp_bf_fix.sql, test_join.sql) are referenced by no script and no dashboard.
Finding: Marketing attribution is last-click within 7 days, in etl/sql/attribution.sql.
Finding: The ETL has no tests; the only check is a row-count email sent at the end of the run.
Finding: The SQL leans on Redshift-specific syntax: GETDATE(), LISTAGG with WITHIN GROUP, DISTKEY/SORTKEY in CREATE TABLE and ::date casts everywhere.
Artifact: docs/inventory/lineage.html, a lineage graph of the 31 SQL files.`,
    },
    {
      agent: 'consumers',
      phase: 'inventory',
      text: `Who reads the warehouse.
Finding: 42 Looker dashboards read the Redshift schema analytics; only the finance board Daily Revenue has an SLA: it must be fresh by 07:00 Berlin time.
Finding: Every month end finance exports fct_revenue to Excel for the auditors and reconciles it with the ledger; a gap above 0.5% triggers an investigation.
Finding: The recommendation service reads the customer_features table from Redshift every hour over JDBC.
Finding: Four analysts query Redshift directly from Jupyter notebooks, all through one shared admin user.
Finding: Looker persistent derived tables rebuild at 08:00 and hold locks that block the ETL when it runs late.
Finding: The CEO's weekly email is built from a Google Sheet that pulls from the Looker API on Mondays at 06:00.
Finding: Column names in the analytics schema are camelCase in 11 tables and snake_case elsewhere; dashboards reference the exact names.`,
    },
    {
      agent: 'ops',
      phase: 'inventory',
      text: `Operations and cost.
Finding: Redshift is a 4-node dc2.large cluster at about 5,800 USD a month; the reserved-instance contract ends on 31 March.
Finding: The credentials for MySQL, Redshift and both ad APIs sit in a .env file on etl-01 that every user of the VM can read.
Finding: Nothing alerts when the cron job fails; failures are noticed when analysts complain about stale numbers.
Finding: The company already runs Airflow 2.7 on Amazon MWAA in eu-central-1 for the ML team.
Finding: Our data processing agreement forbids storing customers' personal data outside the EU.
Finding: The customers table holds email, phone and street address in clear text; the agreement limits access to them to named roles.
Finding: The data team's Slack channel is #data-pipeline; the on-call rota is in PagerDuty under the service Data Platform.
File changed: none`,
    },
    {
      agent: 'architect',
      phase: 'plan',
      text: `Target design.
Decision: The target warehouse is Snowflake on AWS eu-central-1, replacing Redshift.
Decision: Transformations are rewritten as dbt models (dbt-core 1.7) in a new repository, analytics-dbt, one model per old SQL file except the three unused ones.
Decision[orchestrator]: Pipelines are scheduled by a new Dagster deployment on ECS.
Decision[orders-extract]: Orders are extracted incrementally on updated_at with a 3-hour overlap window.
Decision: Raw data lands in a RAW database, dbt builds STAGING and MARTS, and consumers get read access to MARTS only.
Decision: Events are loaded by Snowpipe straight from the existing S3 prefix through a storage integration, without a copy job.
Decision: All timestamps are converted to UTC in the staging layer; marts expose both a UTC and a Europe/Berlin column where dashboards need local dates.
Decision: fct_revenue becomes an incremental model that reprocesses the last 120 days on every run.
Finding: Snowflake should cost about 2,900 USD a month for our volume on an X-Small warehouse with auto-suspend after 60 s.
Decision: The ad spend and CRM loads move to Fivetran connectors instead of our scripts.
Decision: The sessions model uses a 20-minute inactivity gap, as the product team asked.`,
    },
    {
      agent: 'plan-review',
      phase: 'plan',
      text: `Review of the target design.
Decision[orchestrator]: Scheduling goes to the existing MWAA Airflow, not a new Dagster deployment: one platform to run, and the ML team is already on call for it.
Decision[orders-extract]: Orders are captured with change data capture (Debezium reading the MySQL binlog into Kafka, then Snowpipe Streaming), because the GDPR purge's hard deletes must reach the warehouse.
Decision: We will not buy Fivetran (quoted 1,400 USD a month); the ads and CRM loads stay our own Python code, ported to Airflow tasks, with the empty-file bug fixed.
Finding: Debezium needs binlog_format=ROW and a MySQL user with REPLICATION SLAVE and REPLICATION CLIENT; the replica currently runs binlog_format=MIXED.
Decision: Mart columns are snake_case; for the 11 camelCase tables a compatibility view with the old names stays for 60 days after cutover.
Decision: Both pipelines run side by side for two weeks and their daily outputs are compared before any dashboard is switched.
Finding: A sqlglot dry run transpiled 25 of the 28 used SQL files from Redshift to Snowflake cleanly; attribution.sql, sessions.sql and fct_revenue.sql need fixing by hand.
Finding: Airflow on MWAA reads connections and variables from AWS Secrets Manager through the secrets backend the ML team already configured.`,
    },
    {
      agent: 'ingest-builder',
      phase: 'migrate',
      text: `Ingestion is live in parallel with the old job.
File changed: dags/ingest_orders_cdc.py — Airflow DAG that checks the Debezium connector's health and the Snowpipe Streaming lag every 10 minutes.
File changed: connectors/debezium-mysql-orders.json — the connector for orders, order_items and refunds.
Error: Debezium's initial snapshot locked the replica's orders table for 11 minutes; snapshot.locking.mode=none was set and the snapshot rerun at night.
Finding: The DBA team switched the replica to binlog_format=ROW on 12 February.
File changed: dags/ads_spend.py — the ad spend pull as an Airflow task; an empty API response now fails the task instead of writing an empty file.
Finding: Snowpipe Streaming lag stays under 90 seconds at peak.
Decision: Rows deleted in MySQL become rows with _deleted = true in RAW; staging models filter them out.`,
    },
    {
      agent: 'dbt-builder',
      phase: 'migrate',
      text: `dbt project status.
File changed: analytics-dbt/models/staging/ — 14 staging models, each converting timestamps to UTC.
File changed: analytics-dbt/models/marts/fct_revenue.sql — incremental with a 120-day lookback and a left join to currency rates.
Decision: Orders on days without an ECB rate use the most recent earlier rate (carried forward), as finance agreed on 14 February.
Finding: The sessions model now runs in 9 minutes on an X-Small warehouse, using a window function instead of a self-join.
Error: The unique test on the deduplicated customer key still fails for 4 rows whose emails contain non-ASCII characters; open.
Finding: dbt tests now cover unique and not_null on every primary key, relationships from fct_revenue to dim_customer and accepted values of order status.
Decision: The sessions gap stays at 30 minutes after all: with 20, session counts would not be comparable with last year's.
Finding: The project has 47 models; a full build takes 23 minutes, the nightly incremental build 6 minutes.`,
    },
    {
      agent: 'access-builder',
      phase: 'migrate',
      text: `Access control in Snowflake.
File changed: terraform/snowflake/roles.tf — roles LOADER, TRANSFORMER, REPORTER and ANALYST with grants per database.
Decision: Each analyst gets a personal Snowflake user through Okta SSO with the ANALYST role; the shared Redshift admin user is retired at cutover.
Finding: The recommendation service must move to the Snowflake JDBC driver 3.14 with key-pair authentication; the recommendations team owns that change.
Decision: A masking policy hides email, phone and street address from every role except TRANSFORMER and the privacy team's role.
Finding: The Snowflake account lives in AWS eu-central-1 (Frankfurt), which satisfies the EU residency clause.`,
    },
    {
      agent: 'validator',
      phase: 'validate',
      text: `Ten days of side-by-side runs.
Finding: Order counts match exactly between the pipelines; revenue differs by 0.8% on average.
Finding: The whole revenue gap comes from weekend and holiday orders, which the old pipeline dropped; without them the difference is 0.02%.
Error: customer_features has 1.1% fewer customers in Snowflake because the new deduplication also trims whitespace; the recommendations team must accept this before they switch.
Error: The nightly run missed the 07:00 Berlin deadline twice, both times when the Snowpipe Streaming channel reopened after a Kafka consumer rebalance.
Finding: dbt source freshness warns after 2 hours and fails after 6 hours for every raw source.
File changed: none`,
    },
  ],
  children: [
    {
      id: 'orders-cdc',
      phase: 'migrate',
      inherits: ['inventory', 'plan'],
      task: 'Get order data flowing into the new warehouse continuously, including rows that get purged for privacy reasons, without hurting the production database.',
      role: 'You are a data engineer.',
      needs: ['sources.2', 'sources.3', 'plan-review.2', 'plan-review.4', 'architect.5'],
    },
    {
      id: 'revenue-model',
      phase: 'migrate',
      inherits: ['inventory', 'plan'],
      task: "Port the finance team's revenue calculation to the new tooling. It has to keep matching what they reconcile against the books every month, late money-back adjustments must still be picked up, and while you're at it fix the bug where Saturday and Sunday sales go missing. Expect to rewrite some of the SQL by hand.",
      role: 'You are an analytics engineer.',
      needs: [
        'transforms.2',
        'transforms.3',
        'transforms.6',
        'transforms.10',
        'sources.5',
        'architect.2',
        'architect.8',
        'plan-review.7',
        'consumers.2',
      ],
    },
    {
      id: 'ad-spend',
      phase: 'migrate',
      inherits: ['inventory', 'plan'],
      task: 'Move the ad platform pulls off the old box.',
      needs: ['sources.4', 'sources.7', 'plan-review.1', 'plan-review.3', 'plan-review.8'],
    },
    {
      id: 'warehouse-access',
      phase: 'migrate',
      inherits: ['inventory', 'plan'],
      task: "Set up who can see what in Snowflake: loaders, the dbt jobs, the BI tool, the recommender, and the analysts who today all share one login. Customers' contact details must stay hidden from anyone who doesn't need them.",
      role: 'You are a platform engineer.',
      needs: ['architect.5', 'consumers.1', 'consumers.3', 'consumers.4', 'ops.6'],
    },
    {
      id: 'sessions-model',
      phase: 'migrate',
      inherits: ['inventory', 'plan'],
      task: 'Rebuild sessionization in dbt, and make it faster.',
      needs: ['transforms.5', 'sources.8', 'sources.9', 'architect.6', 'architect.11', 'plan-review.7'],
    },
    {
      id: 'reconcile',
      phase: 'validate',
      inherits: ['inventory', 'plan', 'migrate'],
      task: 'Compare old and new outputs day by day during the overlap and explain every difference the finance people are going to ask about.',
      needs: ['plan-review.6', 'consumers.2', 'transforms.3', 'transforms.6', 'dbt-builder.3', 'ingest-builder.7'],
    },
    {
      id: 'monitoring',
      phase: 'validate',
      inherits: ['inventory', 'plan', 'migrate'],
      task: 'Nobody should hear about a broken night from an analyst again. Add alerting and checks to the new pipeline and route them to the right people.',
      role: 'You are a site reliability engineer.',
      needs: ['ops.3', 'ops.7', 'transforms.9', 'consumers.1', 'plan-review.1', 'dbt-builder.6', 'ingest-builder.1'],
    },
    {
      id: 'web-analytics-check',
      phase: 'validate',
      inherits: ['inventory', 'plan', 'migrate'],
      task: 'Check that the website traffic dashboards (visits, conversion) show the same numbers on both warehouses, and list the definition and naming changes analysts will trip over.',
      needs: ['dbt-builder.7', 'architect.7', 'plan-review.5', 'consumers.7'],
    },
    {
      id: 'cutover-plan',
      phase: 'cutover',
      inherits: ['inventory', 'plan', 'migrate', 'validate'],
      task: 'Write the runbook for switching everyone over and turning the old warehouse off: the order of steps, which teams must change something on their side, what we tell finance about numbers moving, open problems that could block the switch, and the date we are racing against.',
      role: 'You are the migration lead.',
      needs: [
        'ops.1',
        'consumers.1',
        'access-builder.2',
        'access-builder.3',
        'plan-review.5',
        'validator.2',
        'validator.3',
        'validator.4',
      ],
    },
    {
      id: 'decommission',
      phase: 'cutover',
      inherits: ['inventory', 'plan', 'migrate', 'validate'],
      task: 'Shut down etl-01 safely.',
      needs: ['sources.1', 'sources.11', 'ops.2'],
    },
    {
      id: 'freshness-incident',
      phase: 'cutover',
      inherits: ['inventory', 'plan', 'migrate', 'validate'],
      task: "The morning numbers were late twice during the trial period. Find out why and make sure it can't happen after we switch.",
      needs: ['validator.4', 'validator.5', 'consumers.1', 'ingest-builder.6', 'plan-review.2'],
    },
  ],
};

const securityAudit: BenchWorkflow = {
  name: 'security-audit-and-fixes',
  description:
    'seven auditors (some overlapping) review a multi-tenant project-management SaaS, two leads triage and revise priorities, three fixers patch, and later agents fix, retest and write up',
  phaseOutputs: ['audit', 'triage'],
  superseded: {
    'triage-lead.1': 'triage-review.1',
    'triage-lead.11': 'triage-review.4',
    'triage-lead.3': 'triage-review.2',
    'triage-lead.7': 'fix-idor.6',
  },
  duplicates: [
    ['auth-audit.4', 'deps-audit.2'],
    ['auth-audit.5', 'api-audit.3'],
    ['access-audit.2', 'api-audit.1'],
    ['data-audit.4', 'api-audit.2'],
  ],
  results: [
    {
      agent: 'auth-audit',
      phase: 'audit',
      text: `Authentication review.
Finding: Sessions are JWTs signed with HS256 using one secret from the JWT_SECRET environment variable, and staging and production share that secret.
Finding: Access tokens are valid for 30 days and cannot be revoked server-side; logging out only deletes the token in the browser.
Finding: POST /api/v1/auth/reset answers 404 for unknown addresses and 200 for known ones, so anyone can test which emails have accounts.
Finding: Enterprise SAML SSO uses github.com/crewjam/saml 0.4.6, which is affected by a published XML signature wrapping advisory fixed in 0.4.14.
Finding: POST /api/v1/auth/login has no rate limit: 10,000 attempts from one IP in a minute were all answered.
Finding: Passwords are hashed with bcrypt at cost 10.
Finding: MFA is TOTP only, and the recovery codes are stored in plain text in users.mfa_recovery_codes.`,
    },
    {
      agent: 'access-audit',
      phase: 'audit',
      text: `Authorisation and tenant isolation.
Finding: Tenant isolation relies on every query filtering on org_id; six handlers in internal/api/attachments.go and internal/api/export.go take org_id from the request body instead of the session.
Error: GET /api/v1/attachments/{id} returns files belonging to other organisations; attachment ids are sequential integers, so they are easy to guess (IDOR).
Finding: The admin role is checked only in the React app for the billing and members pages; the /api/v1/billing/* endpoints do not check it.
Finding: Guest collaborators can list the names of every project in the organisation through GET /api/v1/search, which ignores project membership.
Finding: Integration API keys always have full account scope; there are no per-key scopes.`,
    },
    {
      agent: 'web-audit',
      phase: 'audit',
      text: `Web client review.
Finding: Task descriptions are rendered from Markdown with marked and inserted with dangerouslySetInnerHTML without sanitising; an <img onerror> payload runs (stored XSS).
Finding: The SPA sends no Content-Security-Policy header; only X-Frame-Options: DENY is set.
Finding: The session JWT is kept in localStorage and sent in an Authorization header, so any injected script can steal it.
Finding: CORS on /api/v1/* reflects any Origin header and allows credentials.
Finding: Comments with @mentions go through the same Markdown rendering path as task descriptions.
Finding: The SPA is built with Vite 4 and served by CloudFront from the app-static S3 bucket.`,
    },
    {
      agent: 'cloud-audit',
      phase: 'audit',
      text: `AWS account review.
Finding: The RDS Postgres security group allows 5432 from 0.0.0.0/0; TLS and a password are required, but the database is reachable from the internet.
Finding: JWT_SECRET, the Stripe key and the SMTP password are plain environment variables in the ECS task definitions, readable by anyone with ecs:DescribeTaskDefinition.
Finding: User attachments in the acme-uploads bucket are served through unsigned CloudFront URLs that never expire.
Finding: CloudTrail is enabled; VPC flow logs are not.
Finding: RDS snapshots are kept 7 days and encrypted with the default aws/rds key, not a customer-managed key.
Finding: Images build on golang:1.19 and run on debian:bullseye, with 14 high-severity CVEs in OS packages.`,
    },
    {
      agent: 'deps-audit',
      phase: 'audit',
      text: `Dependency review.
Finding: govulncheck: golang.org/x/net 0.7.0 is reachable and affected by the HTTP/2 rapid reset denial of service; fixed in 0.17.0.
Finding: govulncheck: github.com/crewjam/saml 0.4.6 allows XML signature wrapping; upgrade to 0.4.14 or later.
Finding: npm audit on the SPA reports two high advisories, both in build-time dev dependencies; nothing shipped to browsers is affected.
Finding: marked does not sanitise HTML in any version, so upgrading it alone will not remove the XSS.
Finding: Dependabot is enabled but 23 of its pull requests are open, the oldest from 14 months ago.`,
    },
    {
      agent: 'data-audit',
      phase: 'audit',
      text: `Data handling review.
Finding: The audit log of admin actions lives in the main database and any tenant admin can wipe it through DELETE /api/v1/audit-log.
Finding: The task CSV export writes cell values as they are; values starting with = + - or @ are run as formulas by Excel and Google Sheets.
Finding: At debug level the application logs full request bodies, and production has run at debug level since an incident in March.
Finding: Webhooks accept any URL and the server fetches it from inside the VPC; a test webhook reached http://169.254.169.254/latest/meta-data/ (SSRF).
Finding: Deleted organisations are only soft-deleted and their data is kept forever, although the privacy policy promises deletion within 30 days.`,
    },
    {
      agent: 'api-audit',
      phase: 'audit',
      text: `API pass (overlaps with the others).
Finding: Changing the numeric id in /api/v1/attachments/{id} downloads another organisation's file.
Finding: Outgoing webhook deliveries can be pointed at internal addresses, including the EC2 instance metadata service.
Finding: The login endpoint does no throttling at all.
Finding: /graphql has introspection enabled in production and no query depth or cost limit.
Finding: With DEBUG=true, which production has, 500 responses include the Go stack trace.`,
    },
    {
      agent: 'triage-lead',
      phase: 'triage',
      text: `Triage and remediation decisions.
Decision[fix-order]: Fix order: (1) attachment IDOR and org_id from the body, (2) stored XSS, (3) webhook SSRF, (4) SAML upgrade, (5) everything else.
Decision: Sessions become opaque server-side sessions in Redis, carried in an HttpOnly, Secure, SameSite=Lax cookie; JWTs in localStorage go away.
Decision: User Markdown is sanitised on the client with DOMPurify after marked; the server keeps storing Markdown only.
Decision: Webhook targets are resolved and refused when any address is private, loopback, link-local or inside the VPC range 10.20.0.0/16, and checked again at connect time against DNS rebinding.
Decision: Secrets move to AWS Secrets Manager and reach containers through the ECS secrets field; JWT_SECRET is rotated as part of the session change.
Decision: Attachment ids exposed in the API become random UUIDs.
Decision: Attachments are downloaded through signed CloudFront URLs valid for 5 minutes.
Finding: Our contract with Northwind, the largest tenant, obliges us to report any cross-tenant data exposure within 72 hours of confirming it.
Decision: The CSV export prefixes any cell that starts with = + - or @ with a single quote.
Decision: Sign-in is limited to 10 attempts per 15 minutes per account and 100 per IP, counted in Redis.
Decision[session-timeout]: Sessions expire after 12 hours without activity.`,
    },
    {
      agent: 'triage-review',
      phase: 'triage',
      text: `Second look at the triage.
Decision[fix-order]: The SSRF goes first: it exposes instance credentials that reach every tenant's data. New order: (1) SSRF, (2) attachment IDOR, (3) stored XSS, (4) SAML, (5) the rest.
Decision: Forget DOMPurify in the browser: Markdown is sanitised on the server with bluemonday, when it is saved and when it is rendered, because the mobile apps and the notification emails render the same Markdown.
Finding: The iOS and Android apps show task descriptions from the API in a WebView.
Decision[session-timeout]: Sessions expire after 8 hours without activity and after 7 days at most, to match what enterprise security questionnaires ask for.
Decision: The database security group admits only the ECS tasks' security group and the bastion host.
Decision: Production logs at info level again, and request bodies are never logged at any level.`,
    },
    {
      agent: 'fix-ssrf',
      phase: 'fix',
      text: `Webhook SSRF fixed.
File changed: internal/webhooks/dialer.go — a net.Dialer Control function refuses private, loopback, link-local and 10.20.0.0/16 addresses at connect time.
File changed: internal/webhooks/validate.go — webhook URLs are checked when saved: https only, no IP literals, every resolved address checked.
Error: Tenant Contoso's integration with their on-premise Jira used http:// to a 10.x address over a VPN and is now refused; support has to contact them.
Finding: IMDSv2 was not enforced on the ECS container instances; enforcing it with a hop limit of 1 is a second layer against SSRF.`,
    },
    {
      agent: 'fix-idor',
      phase: 'fix',
      text: `Tenant isolation fixed.
File changed: internal/api/attachments.go — org_id comes from the session and attachments are looked up by (org_id, id).
File changed: internal/api/export.go — org_id comes from the session.
File changed: db/migrations/0042_attachment_uuid.sql — adds a backfilled uuid column to attachments; the integer id stays for internal joins.
Finding: Access logs of the last 90 days show 3 requests in January from a user of org 118 to attachments of org 7: confirmed cross-tenant access.
Error: Signed CloudFront URLs break Slack link previews of attachments, which are fetched without a cookie; Slack now shows a placeholder.
Decision: Signed download links last 60 minutes rather than 5: large files on slow connections failed halfway.`,
    },
    {
      agent: 'fix-xss',
      phase: 'fix',
      text: `Stored XSS fixed.
File changed: internal/markdown/render.go — Markdown rendered on the server with goldmark and cleaned with the bluemonday UGC policy.
File changed: web/src/components/Markdown.tsx — shows the server's sanitised HTML; marked is removed from the SPA.
Finding: 41 task descriptions in production contain <script> or on* attributes; 38 of them come from one penetration-test account.
Decision: Links in rendered Markdown get rel="noopener noreferrer nofollow" and open in a new tab.
Error: Notification emails still render comments with the old template helper, which does not sanitise; not fixed yet.`,
    },
  ],
  children: [
    {
      id: 'outbound-requests',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: 'Stop people from using our outgoing integrations to poke at the internal network or the cloud metadata endpoint.',
      role: 'You are a backend engineer.',
      needs: ['data-audit.4', 'triage-lead.4'],
    },
    {
      id: 'tenant-isolation',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: "A customer must never see another customer's files or data. Close the holes that let one organisation read another's uploads, make sure the organisation always comes from whoever is signed in, and find out whether anyone actually exploited this, because we have contractual duties to tell people.",
      role: 'You are a backend engineer.',
      needs: ['access-audit.1', 'access-audit.2', 'cloud-audit.3', 'triage-lead.6', 'triage-lead.7', 'triage-lead.8'],
    },
    {
      id: 'rich-text',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: 'Make formatted text in tasks and comments safe to display everywhere it shows up.',
      needs: ['web-audit.1', 'web-audit.5', 'deps-audit.4', 'triage-review.2', 'triage-review.3'],
    },
    {
      id: 'sign-in-sessions',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: "Replace how people stay logged in. Today it's a month-long token that page scripts can read, that we can't revoke, signed with a key shared between environments.",
      needs: ['auth-audit.1', 'auth-audit.2', 'web-audit.3', 'triage-lead.2', 'triage-lead.5', 'triage-review.4'],
    },
    {
      id: 'login-abuse',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: 'brute force on sign-in + account enumeration',
      needs: ['auth-audit.5', 'auth-audit.3', 'triage-lead.10'],
    },
    {
      id: 'cloud-hardening',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: 'Tighten the AWS side: a database anyone on the internet can reach, credentials readable in the container configuration, how backups are encrypted, and the missing network logs.',
      role: 'You are a cloud engineer.',
      needs: ['cloud-audit.1', 'cloud-audit.2', 'cloud-audit.4', 'cloud-audit.5', 'triage-lead.5', 'triage-review.5'],
    },
    {
      id: 'go-advisories',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: "Enterprise single sign-on has a published bypass. Patch it, and the other reachable Go advisory while you're in there.",
      needs: ['auth-audit.4', 'deps-audit.1'],
    },
    {
      id: 'leaky-output',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: 'We leak too much in logs and error pages. Clean that up.',
      needs: ['data-audit.3', 'api-audit.5', 'triage-review.6'],
    },
    {
      id: 'browser-defences',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: "Add the missing browser-side defences to the web app: which scripts may run on our pages, and which other sites may call our API with a user's cookies.",
      needs: ['web-audit.2', 'web-audit.4', 'triage-lead.2'],
    },
    {
      id: 'spreadsheet-export',
      phase: 'fix',
      inherits: ['audit', 'triage'],
      task: 'Downloaded task lists can execute things when someone opens them in a spreadsheet app.',
      needs: ['data-audit.2', 'triage-lead.9'],
    },
    {
      id: 'retest',
      phase: 'verify',
      inherits: ['audit', 'triage', 'fix'],
      task: 'Re-run the penetration test against the patched build and confirm that each top-priority hole is closed, in the order we agreed.',
      role: 'You are a penetration tester.',
      needs: [
        'triage-review.1',
        'data-audit.4',
        'access-audit.2',
        'web-audit.1',
        'auth-audit.4',
        'fix-ssrf.1',
        'fix-idor.1',
        'fix-xss.1',
      ],
    },
    {
      id: 'breach-notice',
      phase: 'verify',
      inherits: ['audit', 'triage', 'fix'],
      task: 'Draft the notice to the customer whose uploads were opened by someone from another company, with what we know so far and by when it has to go out.',
      needs: ['fix-idor.4', 'triage-lead.8', 'access-audit.2'],
    },
    {
      id: 'loose-ends',
      phase: 'verify',
      inherits: ['audit', 'triage', 'fix'],
      task: 'List what the fixes themselves broke or left half done, so support and engineering can pick it up.',
      needs: ['fix-ssrf.3', 'fix-idor.5', 'fix-xss.5'],
    },
    {
      id: 'support-faq',
      phase: 'verify',
      inherits: ['audit', 'triage', 'fix'],
      task: 'Support will get questions next week about file links that behave differently and integrations that stopped working. Write them a short FAQ.',
      needs: ['fix-idor.5', 'fix-idor.6', 'fix-ssrf.3'],
    },
  ],
};

const accessibility: BenchWorkflow = {
  name: 'accessibility-pass',
  description:
    'eight auditors (one a second opinion that repeats and revises others) review a transit ticketing web app, a lead plans, two fixers land changes, and many parallel agents fix and then verify',
  phaseOutputs: ['audit'],
  superseded: { 'ds-audit.5': 'second-opinion.3', 'tooling-audit.3': 'a11y-lead.1' },
  duplicates: [
    ['nav-audit.5', 'second-opinion.1'],
    ['visual-audit.1', 'second-opinion.2'],
    ['nav-audit.1', 'second-opinion.5'],
  ],
  results: [
    {
      agent: 'nav-audit',
      phase: 'audit',
      text: `Navigation and page structure.
Finding: The site is a React 18 SPA on React Router 6; route changes neither move focus nor update document.title, so screen reader users are not told that the page changed.
Finding: There is no skip link; keyboard users tab through 23 header links before reaching the main content.
Finding: The mobile hamburger menu is a div with an onClick handler: it cannot be reached with the keyboard and has no aria-expanded.
Finding: The language switcher swaps the texts but leaves <html lang="de"> for English and Turkish too.
Finding: src/styles/reset.css removes focus outlines for every element with *:focus { outline: none }.
Decision: The target is WCAG 2.2 level AA on all public pages; the staff admin area is out of scope for this pass.`,
    },
    {
      agent: 'forms-audit',
      phase: 'audit',
      text: `Journey planner and sign-up forms.
Finding: The journey planner's From and To fields have placeholder text as their only label.
Finding: Station autocomplete is a home-made list without the combobox pattern: arrow keys do nothing and suggestions are not announced.
Finding: Form errors appear as red text under the submit button, not tied to their fields (no aria-describedby).
Finding: The date picker (react-datepicker 4.8) works with the keyboard, but the calendar grid reads only the day number, not the full date.
Finding: The sign-up form expires after 5 minutes without warning and clears every field.
Finding: Required fields are marked with a red asterisk only, with no text and no aria-required.
Error: axe-core fails autocomplete-valid on the sign-up form: name, email and address fields set autocomplete="off".`,
    },
    {
      agent: 'visual-audit',
      phase: 'audit',
      text: `Colour, zoom and motion.
Finding: White text on the brand green #3DAE2B has a contrast ratio of 2.9:1; it is used for every primary button and link.
Finding: Line status dots (red, amber, green) show disruption severity with colour alone.
Finding: At 400% zoom (320 CSS px wide) the timetable scrolls in both directions and the ticket basket covers the pay button.
Finding: Font sizes are set in px everywhere, so a larger browser font size changes almost nothing.
Finding: The animated route map on the home page starts by itself, runs longer than 5 seconds and has no pause control.
Finding: Dark mode exists only in the native apps, not on the website.`,
    },
    {
      agent: 'content-audit',
      phase: 'audit',
      text: `Editorial content.
Finding: 140 station photos have no alt text, and 30 decorative icons have alt text like "icon.png" that screen readers read out.
Finding: The service update videos on the news page, hosted on Vimeo, have no captions.
Finding: About 600 PDF timetables are untagged scans.
Finding: The contact form is protected by a reCAPTCHA v2 checkbox that falls back to an image puzzle.`,
    },
    {
      agent: 'tickets-audit',
      phase: 'audit',
      text: `Ticket purchase flow.
Finding: Ticket type cards are clickable divs; choosing one is not announced, and the chosen card is shown only by a coloured border.
Finding: The quantity stepper's buttons are labelled "+" and "−" with no other accessible name.
Finding: The payment step embeds the Adyen Drop-in in an iframe; Adyen's component is accessible, but our wrapper traps focus inside the iframe when it fails to load.
Finding: The basket total changes without any announcement when the quantity changes.
Error: The 10-minute seat reservation on the checkout runs out silently; users find out only when the payment is refused.
Finding: The mobile ticket page with the QR code sets maximum-scale=1 in its viewport meta tag, which blocks pinch zoom.`,
    },
    {
      agent: 'ds-audit',
      phase: 'audit',
      text: `Design system review.
Finding: The Tram UI design system (packages/tram-ui) provides Button, Modal, Tabs, Toast and Card; 70% of the screens use it, the rest use one-off components.
Finding: Tram UI's Modal neither traps focus nor returns it to the control that opened it.
Finding: Tram UI's Toast disappears after 3 seconds and is not in a live region.
Finding: Tram UI's icon-only Button takes an aria-label prop, but 46 call sites do not pass one.
Decision[focus-style]: The focus indicator is a 2 px outline in brand green with a 2 px offset.
Finding: Storybook has the a11y addon installed, but its checks do not run in CI.`,
    },
    {
      agent: 'tooling-audit',
      phase: 'audit',
      text: `Testing and tooling.
Finding: CI (GitHub Actions) runs Jest and Cypress; nothing checks accessibility.
Finding: cypress-axe can be added to the existing Cypress suite, whose 14 end-to-end specs visit every public page.
Decision: New axe violations of serious or critical impact fail the build; existing ones go into a baseline file to be burned down.
Finding: The team can test with NVDA 2024.1 on Firefox (Windows) and VoiceOver on iOS 17; there is no JAWS licence.`,
    },
    {
      agent: 'second-opinion',
      phase: 'audit',
      text: `Second pass over navigation and visuals.
Finding: Keyboard focus is invisible because the global stylesheet src/styles/reset.css sets outline: none on :focus.
Finding: Primary buttons put white text on #3DAE2B, 2.9:1, below the 4.5:1 minimum for normal text.
Decision[focus-style]: The focus indicator is a 3 px solid near-black (#1A1A1A) outline with a 1 px white inner ring, because brand green fails 3:1 against the light green card backgrounds.
Decision: Brand green stays for large headings only; buttons and links use the darker green #23781A (5.2:1 with white).
Finding: Moving between pages of the single-page app is silent for screen readers because focus and title stay where they were.`,
    },
    {
      agent: 'a11y-lead',
      phase: 'plan',
      text: `Plan for the pass.
Decision: At first only critical axe violations fail CI; serious ones are warnings for four weeks while the baseline is burned down, and fail after that.
Decision: One-off components on the ticket and journey planner screens are replaced with Tram UI components rather than patched one by one.
Decision: The reCAPTCHA on the contact form is replaced by a honeypot field and server-side rate limiting.
Decision: PDF timetables are not engineering work: the content team replaces them with HTML timetables by the end of Q3.
Finding: The European Accessibility Act applies to our ticket sales from 28 June 2025.
Decision: Line status shows an icon and a text label ("Severe disruption") as well as the colour.
Decision: The sign-up form keeps what was typed and warns 60 seconds before it expires, offering more time; the seat reservation is announced at 2 minutes and at 30 seconds left.`,
    },
    {
      agent: 'fix-ds',
      phase: 'fix',
      text: `Design system fixes landed.
File changed: packages/tram-ui/src/Modal.tsx — focus is trapped with focus-trap-react and returned to the opener on close.
File changed: packages/tram-ui/src/Toast.tsx — role=status live region; toasts with an action stay until dismissed.
File changed: src/styles/reset.css — the global outline: none is gone; :focus-visible uses the agreed indicator.
Error: The new focus outline is clipped inside the horizontally scrolling timetable because its container has overflow: hidden.
Finding: Storybook's axe checks now run in CI through @storybook/test-runner; 9 failing stories are in the baseline.`,
    },
    {
      agent: 'fix-forms',
      phase: 'fix',
      text: `Forms fixes landed.
File changed: src/planner/StationCombobox.tsx — rebuilt on the ARIA 1.2 combobox pattern with a listbox popup and aria-activedescendant.
File changed: src/forms/FieldError.tsx — each error sits next to its field, linked by aria-describedby, with a summary of links at the top.
Error: VoiceOver on iOS 17 reads the station suggestions twice when the list updates; not fixed yet.
Finding: The planner fields now have visible labels; the placeholders stay as examples ("e.g. Hauptbahnhof").`,
    },
  ],
  children: [
    {
      id: 'ticket-picker',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: "Rework choosing a ticket and how many: blind users currently can't tell what they picked or what it will cost them.",
      role: 'You are a frontend engineer.',
      needs: ['tickets-audit.1', 'tickets-audit.2', 'tickets-audit.4', 'a11y-lead.2', 'ds-audit.1'],
    },
    {
      id: 'focus-visibility',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: "Keyboard users can't see where they are on the page. Fix it.",
      needs: ['nav-audit.5', 'second-opinion.3'],
    },
    {
      id: 'route-announcements',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'When someone moves to another view, assistive tech should notice; and each view should declare which language it is written in.',
      needs: ['nav-audit.1', 'nav-audit.4'],
    },
    {
      id: 'header-keyboard',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'Make the header usable from the keyboard, on small screens too, without tabbing forever.',
      needs: ['nav-audit.2', 'nav-audit.3'],
    },
    {
      id: 'planner-and-signup',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'Make trip search and account registration work without a mouse or without sight: proper labels, a stop search you can drive with the arrow keys that speaks its suggestions, a travel date that reads out in full, mistakes people can actually find, mandatory inputs that say so, no surprise expiry that wipes what they typed, and let browsers fill in personal details.',
      role: 'You are a frontend engineer.',
      needs: [
        'forms-audit.1',
        'forms-audit.2',
        'forms-audit.3',
        'forms-audit.4',
        'forms-audit.5',
        'forms-audit.6',
        'forms-audit.7',
        'a11y-lead.2',
        'a11y-lead.7',
      ],
    },
    {
      id: 'colour',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'Fix contrast, and every place where colour alone carries meaning.',
      needs: ['visual-audit.1', 'visual-audit.2', 'second-opinion.4', 'a11y-lead.6', 'tickets-audit.1'],
    },
    {
      id: 'reflow',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: "People who enlarge text or magnify the page a lot get a broken layout, and on phones they can't pinch to enlarge their ticket.",
      needs: ['visual-audit.3', 'visual-audit.4', 'tickets-audit.6'],
    },
    {
      id: 'payment-step',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'On the pay page, keyboard users get stuck when the card widget fails to load, and the hold on their seats runs out without a word.',
      needs: ['tickets-audit.3', 'tickets-audit.5', 'a11y-lead.7'],
    },
    {
      id: 'shared-components',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'Fix the dialog and the pop-up notification in our component library, and the icon buttons across the app that have no name.',
      needs: ['ds-audit.1', 'ds-audit.2', 'ds-audit.3', 'ds-audit.4'],
    },
    {
      id: 'ci-gate',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'Stop new accessibility regressions from getting merged.',
      role: 'You are a build engineer.',
      needs: ['tooling-audit.1', 'tooling-audit.2', 'a11y-lead.1', 'ds-audit.6'],
    },
    {
      id: 'editorial',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'Hand the editors a list of what they have to fix: pictures, videos and the downloadable timetables.',
      needs: ['content-audit.1', 'content-audit.2', 'content-audit.3', 'a11y-lead.4'],
    },
    {
      id: 'contact-form',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'contact page bot check is a barrier, replace it',
      needs: ['content-audit.4', 'a11y-lead.3'],
    },
    {
      id: 'home-map',
      phase: 'fix',
      inherits: ['audit', 'plan'],
      task: 'The moving map on the start page.',
      needs: ['visual-audit.5'],
    },
    {
      id: 'screen-reader-round',
      phase: 'verify',
      inherits: ['audit', 'plan', 'fix'],
      task: 'Plan the manual test round with assistive technology on the fixed build: which setups we actually have, which parts of the site are in scope, and what is already known to misbehave.',
      needs: ['tooling-audit.4', 'nav-audit.6', 'fix-forms.3'],
    },
    {
      id: 'accessibility-statement',
      phase: 'verify',
      inherits: ['audit', 'plan', 'fix'],
      task: 'Write the accessibility statement the law requires us to publish: which standard we follow, the date it applies from, what is still not accessible (content and known bugs), and what people can do instead.',
      role: 'You are a compliance writer.',
      needs: [
        'nav-audit.6',
        'a11y-lead.5',
        'content-audit.2',
        'content-audit.3',
        'a11y-lead.4',
        'fix-forms.3',
        'fix-ds.4',
      ],
    },
    {
      id: 'timetable-focus',
      phase: 'verify',
      inherits: ['audit', 'plan', 'fix'],
      task: 'Focus ring gets cut off in the timetable, fix.',
      needs: ['fix-ds.4', 'visual-audit.3', 'second-opinion.3'],
    },
    {
      id: 'baseline-burn-down',
      phase: 'verify',
      inherits: ['audit', 'plan', 'fix'],
      task: 'In a month the gate gets stricter. Work out what in the known-issues list has to be fixed before then.',
      needs: ['a11y-lead.1', 'fix-ds.5'],
    },
  ],
};

export const heldOut2Workflows: BenchWorkflow[] = [warehouse, securityAudit, accessibility];
