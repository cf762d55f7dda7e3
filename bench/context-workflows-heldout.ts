import type { BenchWorkflow } from './context-workflows.js';

/**
 * Workflows kept out of tuning: written after the selection method's knobs were last chosen on
 * `contextWorkflows`, in other domains and another voice (short, informal tasks), so the benchmark
 * can tell a method that generalises from one fitted to its own words.
 */
const mobileSync: BenchWorkflow = {
  name: 'heldout-mobile-offline',
  description: 'four researchers study a field-service mobile app before four implementers add offline mode',
  phaseOutputs: ['discover'],
  superseded: {},
  duplicates: [],
  results: [
    {
      agent: 'mobile',
      phase: 'discover',
      text: `Looked at the React Native client.
Finding: The app is React Native 0.73 with Expo modules; navigation uses react-navigation v6 with a bottom tab bar.
Finding: Work orders are fetched with React Query and cached in memory only; killing the app loses them.
Decision: Local persistence will use WatermelonDB on top of SQLite, not AsyncStorage.
Finding: Photos taken on site are uploaded immediately with a multipart POST to /v2/attachments and fail silently without signal.
Finding: Push notifications come through Firebase Cloud Messaging on both Android and iOS.
Finding: The signature capture screen draws on a react-native-svg canvas and exports a PNG.
Error: On Android 14 the camera permission prompt appears twice when the app resumes from background.
Finding: Technicians mostly use rugged Android phones with 3 GB of RAM; iPhones are about 15 % of installs.
File changed: none`,
    },
    {
      agent: 'api',
      phase: 'discover',
      text: `Backend API notes.
Finding: The REST API is a Django 4.2 app; work orders are served by /v2/work-orders with cursor pagination.
Finding: Every work order row has an updated_at timestamp and a monotonically increasing revision integer.
Decision: Clients authenticate with OAuth2 access tokens valid for 1 hour and refresh tokens valid for 30 days.
Finding: The API rejects requests older than 5 minutes based on the X-Request-Timestamp header (replay protection).
Finding: Attachment uploads larger than 20 MB are refused with 413.
Finding: There is no endpoint that returns only the changes since a given point; clients download everything.
Error: PATCH /v2/work-orders/:id overwrites the whole notes field, so two edits race and the earlier one is lost.
File changed: none`,
    },
    {
      agent: 'sync',
      phase: 'discover',
      text: `Sync design research.
Decision: Conflicts on the same work order field are resolved last-writer-wins by server receive time, except the status field, where the dispatcher's value always wins.
Finding: WatermelonDB's synchronize() expects a pull endpoint returning created/updated/deleted per table since a lastPulledAt timestamp.
Finding: Deleted work orders are hard-deleted today, so a device cannot learn that a record disappeared.
Decision: A tombstones table will record deletions for 90 days.
Finding: Queued edits must survive an app restart; the outbox has to be persisted, not held in memory.
Finding: Background fetch on iOS runs at most every 15 minutes and not at all in Low Power Mode.`,
    },
    {
      agent: 'product',
      phase: 'discover',
      text: `Product and analytics constraints.
Finding: Technicians work in basements and rural sites with no coverage for up to a full shift.
Finding: Dispatchers need to see a job as completed within 10 minutes of the technician finishing it, whenever there is signal.
Decision: Offline mode ships behind the remote config flag offline_v1, first to the Nordics region.
Finding: Analytics use Amplitude; events are dropped today when the device is offline.
Finding: The app must show clearly whether data on screen is up to date and when it last synced.
Finding: Support tickets show technicians re-entering notes after the app logged them out mid-job.`,
    },
  ],
  children: [
    {
      id: 'local-db',
      phase: 'build',
      inherits: ['discover'],
      task: 'set up on-device storage so techs can open their jobs with no connection, and nothing is lost if the app gets killed',
      needs: ['mobile.2', 'mobile.3', 'sync.5', 'product.1'],
    },
    {
      id: 'delta-endpoint',
      phase: 'build',
      inherits: ['discover'],
      task: 'add a server endpoint phones can call to get just what changed since their last sync, removals included',
      needs: ['api.1', 'api.2', 'api.6', 'sync.2', 'sync.3', 'sync.4'],
    },
    {
      id: 'merge-rules',
      phase: 'build',
      inherits: ['discover'],
      task: 'when two people edit the same job while one of them was offline, make sure the right version survives and notes are not clobbered',
      needs: ['sync.1', 'api.7', 'api.2'],
    },
    {
      id: 'uploads-and-auth',
      phase: 'build',
      inherits: ['discover'],
      task: 'queue site photos and sign-offs taken offline and send them later; also stop people getting kicked out of the app in the middle of a job',
      needs: ['mobile.4', 'api.5', 'sync.5', 'api.3', 'api.4', 'product.6', 'mobile.6'],
    },
  ],
};

const mlChain: BenchWorkflow = {
  name: 'heldout-ml-swarm-chain',
  description:
    'five agents profile a churn model in parallel (overlapping, changing their minds), then a planner, then three children',
  phaseOutputs: ['profile'],
  superseded: { 'features.3': 'serving.2', 'planner.2': 'planner.4' },
  duplicates: [
    ['data.1', 'quality.1'],
    ['data.3', 'features.2', 'quality.2'],
  ],
  results: [
    {
      agent: 'data',
      phase: 'profile',
      text: `Data sources.
Finding: Training data is a nightly Snowflake export of the events table, about 400 million rows per month.
Finding: The label is churned = no paid invoice within 45 days after the subscription period ended.
Finding: The signup_country column is null for 12 % of accounts created before 2021.
Finding: Customer ids were re-keyed in March 2022; the mapping lives in legacy_customer_map.`,
    },
    {
      agent: 'features',
      phase: 'profile',
      text: `Feature store.
Finding: Features are computed in dbt models under models/features and materialised to the feature store in Feast.
Finding: About one in eight accounts has no signup country, mostly the older ones.
Decision: The model will be retrained weekly on Sunday night.
Finding: seats_used_30d leaks the label: it is computed after the churn date for churned accounts.`,
    },
    {
      agent: 'quality',
      phase: 'profile',
      text: `Data quality.
Finding: The nightly Snowflake dump of events is roughly 400M rows a month.
Finding: Signup country is missing for 12% of pre-2021 accounts.
Finding: Duplicate events appear when the mobile SDK retries; event_id is unique and can be used to drop them.`,
    },
    {
      agent: 'serving',
      phase: 'profile',
      text: `Serving.
Finding: Scores are served by a FastAPI service on SageMaker with a p95 latency of 80 ms.
Decision: Retraining moves to daily at 02:00 UTC instead of weekly, because pricing changes shift behaviour within days.
Finding: The CRM reads churn scores from the account_scores table every hour.`,
    },
    {
      agent: 'fairness',
      phase: 'profile',
      text: `Fairness and compliance.
Finding: Legal requires that country and age are not used as model inputs in the EU.
Finding: Model cards must be published in the internal catalogue for every model version.
Error: The current model's precision is 20 points lower for accounts on the starter plan.`,
    },
    {
      agent: 'planner',
      phase: 'plan',
      text: `Plan for v2.
Decision: The v2 model is LightGBM with class weights, tracked in MLflow.
Decision: Evaluation uses a random 80/20 split of accounts.
Decision: Drop seats_used_30d and any feature computed after the scoring date.
Decision: Evaluation uses a time-based split instead: train on months up to M-3, validate on M-2, test on M-1, rather than a random split.
Decision: Scores are written to account_scores with the model version, so the CRM can tell versions apart.`,
    },
  ],
  children: [
    {
      id: 'training',
      phase: 'build',
      inherits: ['profile', 'plan'],
      task: 'write the training pipeline for the new churn model: pull the data, build the target, fix known data problems, and evaluate it properly',
      needs: [
        'data.1',
        'data.2',
        'data.4',
        'data.3',
        'quality.3',
        'features.4',
        'planner.1',
        'planner.3',
        'planner.4',
        'fairness.1',
      ],
    },
    {
      id: 'scheduling',
      phase: 'build',
      inherits: ['profile', 'plan'],
      task: 'schedule retraining and push new scores to the systems that use them',
      needs: ['serving.2', 'serving.3', 'planner.5', 'fairness.2'],
    },
    {
      id: 'bias-report',
      phase: 'build',
      inherits: ['profile', 'plan'],
      task: 'check whether the model treats some customer groups worse and write it up for the catalogue',
      needs: ['fairness.1', 'fairness.2', 'fairness.3', 'data.3'],
    },
  ],
};

export const heldOutWorkflows: BenchWorkflow[] = [mobileSync, mlChain];
