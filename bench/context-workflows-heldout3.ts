import type { BenchWorkflow } from './context-workflows.js';

/**
 * A third held-out set for the context_quality benchmark, written blind: its author had not read the
 * selection method (select, terms, supersede, wordnet), nor any benchmark result or the other sets'
 * misses. Domains unlike the other sets: a multiplayer game server's latency investigation and fixes,
 * a Kubernetes cluster upgrade, a GDPR data-retention project. Every phase with several agents is
 * also passed on as its concatenated output. Empty facts ("File changed: none") come last in a result
 * so that fact numbering does not depend on whether they are kept. `superseded` lists keyed revisions
 * too (the benchmark skips those: a keyed fact is replaced in place).
 */
const gameServer: BenchWorkflow = {
  name: 'game-server-latency',
  description:
    'four investigators chase rubber-banding on a 64-player shooter, a lead and a reviewer triage (the reviewer overturns four calls, one of them keyed), two fixers land the changes, then follow-up and verification tasks',
  phaseOutputs: ['investigate', 'triage', 'fix'],
  superseded: {
    'lead.5': 'reviewer.1',
    'lead.8': 'reviewer.2',
    'lead.4': 'reviewer.3',
    'lead.6': 'reviewer.5',
  },
  duplicates: [
    ['infra-net.2', 'player-data.8'],
    ['profiler.2', 'netcode.7'],
    ['fix-game.5', 'fix-infra.7'],
  ],
  results: [
    {
      agent: 'netcode',
      phase: 'investigate',
      text: `Looked at the replication layer and the client complaints side by side.
Finding: The server simulates at 30 ticks per second and sends every client a snapshot each tick, delta-compressed against the last snapshot that client acknowledged.
Finding: When a client has not acknowledged anything for more than 32 ticks, the server falls back to full snapshots, which average 14 KB in a 64-player match instead of about 900 bytes.
Finding: 71 % of rubber-banding reports fall within 2 seconds of a full-snapshot fallback for that player.
Finding: Datagrams over 1,200 bytes are split by our own reliability layer (src/net/reliable_channel.cpp); losing one fragment loses the whole snapshot, so big snapshots are the ones that get lost.
Finding: Client interpolation delay is fixed at 100 ms (cl_interp); two ticks of buffer at 30 Hz would be 66 ms.
Error: Lag compensation rewinds hitboxes by whatever RTT the client reports, with no cap; a client reporting 900 ms can hit players who reached cover long ago.
Finding: Some ticks take 40 ms or more when lots of grenades are in the air; the physics pair search looks quadratic.
Finding: Inputs are sent redundantly (the last 3 inputs in every packet), so a single lost input packet does not cause a misprediction.
File changed: none`,
    },
    {
      agent: 'profiler',
      phase: 'investigate',
      text: `perf and Tracy captures from fra-07 during the evening peak, 64-player matches.
Finding: Tick duration is 9 ms at p50 but 41 ms at p99 on full servers, over the 33 ms budget of a 30 Hz tick.
Finding: The long ticks are in the physics broadphase (PhysicsWorld::updatePairs), an O(n²) loop over dynamic bodies that explodes when many grenades are in flight.
Finding: Every tick the server writes one match-event line per player with a synchronous fprintf to /var/log/gs/match.log; on busy hosts the write blocks for up to 6 ms.
Finding: 11 % of tick time is malloc/free (glibc) while building snapshots.
Finding: Hosts run 12 game server processes on 16 physical cores with no CPU pinning; the scheduler migrates server threads between cores under load.
Error: A build with -O3 -flto crashes with SIGSEGV in SnapshotBuilder::writeEntity; -O2 builds are fine.
Artifact: perf/flamegraph-64p-fra07.svg
File changed: none`,
    },
    {
      agent: 'infra-net',
      phase: 'investigate',
      text: `Network side, hosts and transit.
Finding: Game servers run on bare-metal hosts in three sites, Frankfurt (fra), Ashburn (iad) and Singapore (sin); each host has one 10 Gbit uplink.
Finding: Packet loss on the Frankfurt hosts rises from 0.1 % to 1.8 % between 19:00 and 23:00 CET; the loss is on the transit link through AS3356, not inside our rack.
Finding: Frankfurt NICs spread receive traffic over 4 RSS queues only; at peak one core handles all softirqs and ksoftirqd sits at 100 % there.
Finding: net.core.rmem_max is still the kernel default (208 KB); UDP receive buffer errors climb at peak in netstat -su.
Finding: The provider's DDoS scrubbing in front of fra adds about 4 ms to every packet.
Decision: We stay on bare metal; moving the fleet to cloud instances is out of scope for this project.
File changed: none`,
    },
    {
      agent: 'player-data',
      phase: 'investigate',
      text: `Matchmaker review (services/matchmaker, Go) and client telemetry for the last 30 days.
Finding: The matchmaker groups players by skill first and then picks the lowest-ping region among servers with free slots.
Finding: In EU evenings 23 % of matches include players put on Ashburn servers because Frankfurt is full; those players have 90–110 ms RTT.
Finding: The pings the matchmaker uses are measured once when the client starts, against fixed beacon hosts, and never refreshed.
Finding: Capacity is static: 12 servers per host, no autoscaling; Frankfurt has 20 hosts, so 240 servers.
Error: The region fallback timer is 8 seconds although the config comment says 30 s; the code reads MM_REGION_FALLBACK_MS and defaults to 8000.
Finding: Client network stats (client_net_stats events) are sampled from 1 % of sessions and written to the ClickHouse table telemetry.net_stats every 10 s.
Finding: Players who complained of rubber-banding have a median packet loss of 2.1 %, against 0.2 % for everyone else.
Finding: Loss measured by clients on fra servers climbs to about 2 % every evening from 7 to 11 pm and falls back under 0.2 % at night; traceroutes from affected players die at a Level3 hop, outside our network.
Finding: The server exports no tick-time metric; the only per-server metric in Prometheus is players online.
Finding: The client itself reports a rubber-band event (telemetry.corrections) whenever it applies a correction over 1 m to the local player.
File changed: none`,
    },
    {
      agent: 'lead',
      phase: 'triage',
      text: `Triage of the investigation. Owners in brackets.
Decision[tick-rate]: The tick rate stays at 30 Hz; 60 Hz would double bandwidth while we cannot even hold the 30 Hz budget.
Decision: Replace the O(n²) broadphase with sweep-and-prune along the x axis (fix-game).
Decision: Take match-event logging off the game thread: a lock-free ring buffer drained by a background writer thread (fix-game).
Decision: Lag-compensation rewind is capped at 200 ms; shots from clients with higher RTT are checked against present positions (fix-game).
Decision: Keep every snapshot under 1,150 bytes by splitting entities over several datagrams by priority, instead of fragmenting one big snapshot (fix-game).
Decision: Steer Frankfurt transit away from AS3356 at peak with a BGP local-preference change on our edge routers (fix-infra).
Decision: The matchmaker re-measures ping every 5 minutes in the background and never places a player in a region more than 60 ms worse than their best one unless they have waited 45 s.
Decision[cpu-pinning]: Pin each game server process to its own physical core with taskset in the systemd unit; 12 processes per host stay.
Decision: Export tick duration as a Prometheus histogram, gs_tick_duration_seconds, buckets from 5 to 50 ms (fix-game).
Finding: Expected gain if everything lands: p99 tick under 20 ms and half the rubber-band events in EU evenings.
File changed: none`,
    },
    {
      agent: 'reviewer',
      phase: 'triage',
      text: `Review of the triage; three calls changed after talking to the netcode and network owners.
Decision: No splitting of entity updates across datagrams: it breaks the baseline bookkeeping in ack handling. We shrink the payload instead, with positions quantised to 16 bits and full resyncs limited to entities inside the player's relevance radius.
Decision[cpu-pinning]: Pin servers with cgroup cpusets (AllowedCPUs= in the systemd unit) rather than taskset, and keep cores 0–1 for interrupts and the OS, so a host runs 10 servers instead of 12.
Decision: The furthest back hit registration may look is 150 ms, not 200: at 30 Hz that is already 4.5 ticks, and 200 still let favour-the-shooter complaints through in the playtest.
Finding: Going from 12 to 10 servers per host leaves Frankfurt 40 servers short in the evening; without 4 more hosts the matchmaker will spill even more players to Ashburn.
Decision: We do not touch BGP ourselves: the edge routers are the provider's, so we open a NOC ticket asking them to de-prefer AS3356 for our prefix.
File changed: none`,
    },
    {
      agent: 'fix-game',
      phase: 'fix',
      text: `Server and netcode fixes are in, soak-tested on fra-07; the netcode part is behind sv_netcode_v2 (on by default in 1.14).
File changed: src/physics/broadphase.cpp — sweep-and-prune on the x axis replaces the pair loop; 64 players with 40 grenades now take 1.9 ms per tick in the broadphase.
File changed: src/log/match_log.cpp — events go into a 64K-entry ring buffer written by a background thread; when it is full, events are dropped and counted in gs_match_log_dropped_total.
File changed: src/metrics/tick_metrics.cpp — gs_tick_duration_seconds histogram served on :9102/metrics.
Error: Sweep-and-prune broke capture points (players standing on a point were not counted); fixed by keeping static trigger volumes out of the sorted list and testing them separately.
Finding: With the new broadphase and the async log, p99 tick in the 64-player soak test is 17 ms (was 41 ms).
Decision: The -O3 -flto crash is left alone; release builds stay on -O2 until SnapshotBuilder is rewritten.
File changed: src/net/quantize.cpp — positions go out as 16-bit fixed point relative to a 2 km map origin (3 cm resolution), rotations as 10-bit angles.
File changed: src/net/snapshot.cpp — full resyncs carry only entities within 120 m of the player; farther entities are updated at 5 Hz.
File changed: src/game/lag_comp.cpp — rewind capped by sv_max_rewind_ms, default 150.
Finding: A full snapshot for 64 players is now 1,020 bytes, under the 1,200-byte fragmentation threshold, so full resyncs are no longer split.
Error: Quantisation put players 3 cm into the floor on the map Harbor, whose origin is below sea level; fixed by reading a per-map origin from the map file header.
Decision[client-interp]: Client interpolation delay goes from 100 ms to 66 ms (two ticks); clients get the new default with patch 1.14.`,
    },
    {
      agent: 'fix-infra',
      phase: 'fix',
      text: `Host and network changes.
File changed: deploy/systemd/gs@.service — AllowedCPUs= per instance from a per-host CPU map; cores 0–1 reserved.
File changed: deploy/sysctl/90-gs.conf — net.core.rmem_max and rmem_default raised to 8 MB; the host bootstrap spreads RSS over 8 NIC queues with ethtool -L.
Finding: After the sysctl change, UDP receive buffer errors at peak went from about 3,000 a minute to 0 on fra-07 and fra-11.
Finding: The provider accepted NOC ticket NOC-88412 to de-prefer AS3356 for our prefix; change window Thursday 02:00 CET.
Decision: Four more Frankfurt hosts are ordered (delivery in 10 days); until then the region runs 200 servers instead of 240.
Error: ethtool -L combined 8 fails on the two oldest hosts, fra-01 and fra-02 (their ixgbe firmware supports 4 queues); they stay at 4 and are the first to be replaced.
Finding: On the new gs_tick_duration_seconds histogram, fra-07 shows a p99 server frame time of 17 ms in the full-lobby soak, down from 41 ms.`,
    },
  ],
  children: [
    {
      id: 'snapshot-size',
      phase: 'fix',
      inherits: ['investigate', 'triage'],
      task: "Make the full-state resync packets small enough that they don't get chopped up on the wire.",
      role: 'You are a netcode engineer.',
      needs: ['netcode.2', 'netcode.4', 'reviewer.1', 'netcode.1'],
    },
    {
      id: 'hitreg',
      phase: 'fix',
      inherits: ['investigate', 'triage'],
      task: 'People keep getting shot after they are already behind a wall, mostly by players with awful connections. Fix hit registration.',
      needs: ['netcode.6', 'reviewer.3'],
    },
    {
      id: 'match-log-stall',
      phase: 'fix',
      inherits: ['investigate', 'triage'],
      task: 'The simulation loop stalls while it writes the per-match event file. Get disk I/O out of the loop.',
      needs: ['profiler.3', 'lead.3'],
    },
    {
      id: 'matchmaker-region',
      phase: 'fix',
      inherits: ['investigate', 'triage'],
      task: "Stop the matchmaker from sending Europeans to American servers in the evening unless they've been queueing a long time, and keep the latency numbers it decides with up to date.",
      role: 'You are a backend engineer (Go).',
      needs: ['player-data.1', 'player-data.2', 'player-data.3', 'player-data.5', 'lead.7'],
    },
    {
      id: 'tick-alert',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'Grafana panel and an alert for when the server frame runs over budget.',
      needs: ['fix-game.3', 'profiler.1', 'lead.1'],
    },
    {
      id: 'host-rollout',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'Roll the kernel networking and core isolation settings out to every Frankfurt box and check nothing regressed.',
      role: 'You are a site reliability engineer.',
      needs: ['fix-infra.1', 'fix-infra.2', 'fix-infra.3', 'fix-infra.6', 'reviewer.2', 'infra-net.3', 'infra-net.4'],
    },
    {
      id: 'capacity',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'How many game instances will we have in Germany at evening peak over the next two weeks, and is that enough?',
      needs: ['reviewer.4', 'fix-infra.5', 'player-data.4', 'reviewer.2', 'player-data.2'],
    },
    {
      id: 'soak',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'Re-run the full-lobby soak with lots of explosives flying and confirm we stay inside the frame budget. Also make sure objectives still register who is standing on them.',
      needs: ['fix-game.5', 'fix-game.4', 'fix-game.1', 'profiler.2', 'profiler.1'],
    },
    {
      id: 'patch-notes',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'write the player-facing patch notes for 1.14 covering the netcode work',
      role: 'You are a community manager.',
      needs: ['fix-game.12', 'fix-game.9', 'fix-game.8', 'fix-game.10'],
    },
    {
      id: 'route-check',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: "After the provider's routing change on Thursday night, check whether evening packet loss for German players actually went away. Use the client data.",
      needs: ['fix-infra.4', 'infra-net.2', 'player-data.6', 'player-data.7'],
    },
    {
      id: 'harbor',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'Players on the harbour map say they sink into the ground since the update.',
      needs: ['fix-game.11', 'fix-game.7'],
    },
    {
      id: 'lto',
      phase: 'verify',
      inherits: ['investigate', 'triage', 'fix'],
      task: 'Can we switch on link-time optimisation for the release build now?',
      needs: ['profiler.6', 'fix-game.6'],
    },
  ],
};

const clusterUpgrade: BenchWorkflow = {
  name: 'kubernetes-upgrade',
  description:
    'four surveyors check a kubeadm cluster before moving it from 1.25 to 1.28, a planner and an SRE reviewer plan it (two keyed and two unkeyed revisions), two agents rehearse on staging, then production tasks',
  phaseOutputs: ['survey', 'plan', 'rehearse'],
  superseded: {
    'planner.1': 'sre-review.1',
    'planner.6': 'sre-review.3',
    'planner.10': 'sre-review.2',
    'planner.8': 'sre-review.4',
  },
  duplicates: [
    ['addons.6', 'workloads.2'],
    ['nodes.5', 'workloads.5'],
  ],
  results: [
    {
      agent: 'api-scan',
      phase: 'survey',
      text: `Ran pluto and kubent against the live cluster and every Helm release.
Finding: pluto reports 14 Helm releases whose charts still render autoscaling/v2beta2 HorizontalPodAutoscalers, which 1.26 removes; the API server still serves them today, so nothing fails yet.
Finding: The in-house quota-guard controller watches flowcontrol.apiserver.k8s.io/v1beta1 FlowSchemas, also removed in 1.26.
Finding: Helm keeps the old manifests in its release secrets; after the upgrade, helm upgrade on those releases fails with "unable to recognize" until the secrets are rewritten with helm mapkubeapis.
Finding: No CronJob uses batch/v1beta1 any more; they all moved to batch/v1 last year.
Finding: kube-prometheus-stack is on chart 41.x, which supports Kubernetes up to 1.26; chart 51 or later is needed for 1.28.
File changed: none`,
    },
    {
      agent: 'addons',
      phase: 'survey',
      text: `Add-on compatibility matrix.
Finding: Calico is at 3.24, tested up to Kubernetes 1.25; Calico 3.26 supports 1.26 to 1.28.
Finding: ingress-nginx controller 1.3.1 is not supported past 1.25; 1.9.x is needed for 1.28, and 1.9 turns allow-snippet-annotations off by default while 9 of our Ingresses use configuration-snippet.
Finding: cert-manager 1.9 is out of support; 1.13 supports 1.23 to 1.28 and its CRDs must be upgraded before the controller.
Finding: Velero 1.9 backs up all namespaces nightly to MinIO; a restore was last tested eight months ago.
Finding: kubeadm rewrites the coredns ConfigMap on every control-plane upgrade; our stub domain for corp.internal has to be re-applied afterwards.
Error: metrics-server runs the image k8s.gcr.io/metrics-server:v0.6.1; k8s.gcr.io is frozen and pulls from it will stop working.
File changed: none`,
    },
    {
      agent: 'nodes',
      phase: 'survey',
      text: `Nodes and control plane.
Finding: 3 control-plane nodes and 42 workers, all Ubuntu 20.04 with containerd 1.6.8, installed with kubeadm; Kubernetes 1.25.11 everywhere.
Finding: kubeadm upgrades one minor version at a time, so 1.25 → 1.28 means three control-plane upgrades; from 1.28 on a kubelet may be up to three minor versions older than the API server (two before that).
Finding: etcd 3.5.6 is stacked on the control-plane nodes; an hourly cron job snapshots it to /var/backups/etcd on each node, never off the host.
Finding: 1.27 kubelets no longer accept --container-runtime; /etc/default/kubelet still passes --container-runtime=remote, so an upgraded kubelet would not start.
Finding: 16 pods have PodDisruptionBudgets with maxUnavailable 0 (the Postgres operator's clusters and Kafka), which block kubectl drain.
Finding: Nodes use cgroup v1; it still works on 1.28, but the team wants cgroup v2 eventually.
File changed: none`,
    },
    {
      agent: 'workloads',
      phase: 'survey',
      text: `Workload owners and risks.
Finding: 230 Deployments in 41 namespaces; 18 run a single replica, so every drain of their node is an outage of that service.
Finding: Three workloads still pull from k8s.gcr.io (metrics-server, kube-state-metrics and an old default backend for ingress); that registry is frozen, they must move to registry.k8s.io.
Finding: The payments namespace still has a Docker-in-Docker build job mounting /var/run/docker.sock; it has been failing since the containerd move and nobody uses it.
Finding: Kafka runs on Strimzi 0.32, tested up to Kubernetes 1.26; Strimzi 0.38 is needed for 1.28.
Finding: The Postgres clusters have disruption budgets that forbid any eviction, so a drain hangs until the DBA team fails the primary over by hand.
File changed: none`,
    },
    {
      agent: 'planner',
      phase: 'plan',
      text: `Upgrade plan v1.
Decision[upgrade-path]: Upgrade in place with kubeadm, one minor version at a time (1.25 → 1.26 → 1.27 → 1.28), control plane first and then every worker at each step, in batches of 5.
Decision: Before the 1.26 step, every chart's HPA moves to autoscaling/v2 and helm mapkubeapis runs on every release.
Decision: Add-ons are upgraded before the control plane: Calico 3.26, ingress-nginx 1.9, cert-manager 1.13 (CRDs first), kube-prometheus-stack 51, Strimzi 0.38.
Decision: quota-guard moves to flowcontrol v1beta3, which 1.26 serves, before the first control-plane step.
Decision: etcd snapshots are copied to the MinIO bucket etcd-backups after every run, and one is taken by hand right before each control-plane step.
Decision[maintenance-window]: Production control-plane steps run on Tuesdays 22:00–02:00 CET, one minor version a week.
Decision: Workers are drained with kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout=10m.
Decision: Single-replica services are scaled to two replicas for the duration of the upgrade so drains cause no outage.
Decision: --container-runtime is removed from /etc/default/kubelet on every node before any 1.27 kubelet is installed.
Decision: Snippet annotations are turned back on in ingress-nginx 1.9 (allow-snippet-annotations: true) so the 9 Ingresses keep working.
Decision: Ubuntu 20.04 stays; the OS upgrade and cgroup v2 are a separate project.`,
    },
    {
      agent: 'sre-review',
      phase: 'plan',
      text: `Review of plan v1 with the platform on-call.
Decision[upgrade-path]: In place with kubeadm, control plane 1.25 → 1.26 → 1.27 → 1.28, but the workers are drained only once: they stay on 1.25 until the control plane is on 1.28 and then go straight to 1.28 (the skew policy allows it), in batches of 5.
Decision: Custom nginx snippets stay forbidden: they let one namespace read another's secrets (CVE-2021-25742). The 9 Ingresses are rewritten to use the controller ConfigMap and standard annotations.
Decision[maintenance-window]: Production control-plane steps move to Wednesdays 06:00–09:00 CET, when traffic is lowest and the platform team is at work; still one minor version a week.
Decision: No extra replicas for drains: the owners of single-replica services accept a few minutes of downtime, and each is told the date in #platform-announce a week ahead.
Finding: The DBA on-call will fail over the Postgres primaries before their node is drained; about 4 minutes per cluster, 6 clusters.
Decision: The whole path is rehearsed on the staging cluster first, including an etcd restore drill.
File changed: none`,
    },
    {
      agent: 'staging-runner',
      phase: 'rehearse',
      text: `Staging rehearsal done, same versions as production with 8 workers.
File changed: charts/*/templates/hpa.yaml — the 14 charts render autoscaling/v2; helm mapkubeapis ran on every staging release.
File changed: platform/quota-guard/informers.go — watches flowcontrol v1beta3.
Finding: The staging control plane went 1.25 → 1.26 → 1.27 → 1.28 in 3 h 40 min; kubeadm upgrade apply took about 9 minutes per control-plane node.
Error: After the 1.26 step CoreDNS lost the corp.internal stub domain (kubeadm reset the Corefile) and internal names did not resolve for 20 minutes, until the ConfigMap was re-applied.
Error: The cert-manager 1.13 webhook rejected Certificates until its CRDs were upgraded; the chart upgrade alone does not touch CRDs because installCRDs is false in our values.
Finding: Draining a worker took 4 to 11 minutes; the Kafka PDB blocked drains until Strimzi was on 0.38, which then rolls the brokers one at a time itself.
File changed: platform/ingress/configmap.yaml — the 9 snippet Ingresses now use ConfigMap settings and standard annotations; allow-snippet-annotations stays false.
Finding: Workers went from 1.25 straight to 1.28 without trouble; kubelets re-registered and no pod was rescheduled twice.`,
    },
    {
      agent: 'restore-drill',
      phase: 'rehearse',
      text: `Backup and restore drill on staging.
Finding: Restoring etcd from the off-host snapshot took 12 minutes end to end; the API server came back with every object.
Error: The hourly etcd snapshot cron on one control-plane node has written zero-byte files since June because its disk was full; nothing alerted.
Finding: Velero restored the staging namespaces, but restic-backed volumes come back at about 40 MB/s, so the 2 TB Kafka volumes would take 14 hours.
Artifact: docs/runbooks/etcd-restore.md, the restore runbook as it was run today.
File changed: none`,
    },
  ],
  children: [
    {
      id: 'first-prod-step',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: "I'm doing the first production control-plane step next week. When is the slot, and what has to be done right before I touch the first master?",
      role: 'You are a platform engineer.',
      needs: [
        'sre-review.3',
        'planner.5',
        'restore-drill.2',
        'planner.2',
        'planner.3',
        'planner.4',
        'staging-runner.4',
        'sre-review.1',
      ],
    },
    {
      id: 'kubelet-config',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: "Get the workers' node agent config ready so it still boots on the new version.",
      needs: ['nodes.4', 'planner.9'],
    },
    {
      id: 'drain-runbook',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'Write the runbook for moving each batch of worker machines to the new version: evicting pods, the databases, Kafka, and who we have to warn beforehand.',
      role: 'You are a site reliability engineer.',
      needs: [
        'sre-review.1',
        'planner.7',
        'sre-review.4',
        'workloads.1',
        'nodes.5',
        'sre-review.5',
        'staging-runner.6',
      ],
    },
    {
      id: 'ingress-prod',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'Upgrade the ingress controller in prod. A few ingresses had hand-written nginx config bits, how are we handling those?',
      needs: ['addons.2', 'sre-review.2', 'staging-runner.7'],
    },
    {
      id: 'registry-and-monitoring',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'Before the upgrade, move anything still pulling from the frozen Google image registry, and bump the monitoring stack to a release that supports where we are going.',
      needs: ['workloads.2', 'api-scan.5'],
    },
    {
      id: 'helm-apis',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'our helm releases will blow up on the next helm upgrade after 1.26 because of the old autoscaler API version — sort out prod',
      needs: ['api-scan.1', 'api-scan.3', 'planner.2', 'staging-runner.1'],
    },
    {
      id: 'cert-manager',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'Bump the TLS certificate controller in production without breaking certificate issuance.',
      needs: ['addons.3', 'staging-runner.5', 'planner.3'],
    },
    {
      id: 'rollback-readiness',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'If the upgrade goes wrong, can we actually roll back? Check the cluster state store backups and the volume backups.',
      needs: ['nodes.3', 'planner.5', 'restore-drill.1', 'restore-drill.2', 'restore-drill.3', 'addons.4'],
    },
    {
      id: 'announcement',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'Draft the announcement to engineering: dates, what teams will notice, and what they must do before it.',
      role: 'You are the platform team lead.',
      needs: ['sre-review.3', 'sre-review.4', 'sre-review.1', 'workloads.2', 'sre-review.2'],
    },
    {
      id: 'internal-dns',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'On staging, internal hostnames stopped resolving after one of the master upgrades. Make sure that cannot happen in prod.',
      needs: ['addons.5', 'staging-runner.4'],
    },
    {
      id: 'cgroup-v2',
      phase: 'production',
      inherits: ['survey', 'plan', 'rehearse'],
      task: 'Can we switch the nodes to the unified cgroup hierarchy while we are at it?',
      needs: ['nodes.6', 'planner.11'],
    },
  ],
};

const dataRetention: BenchWorkflow = {
  name: 'gdpr-retention',
  description:
    'four mappers find where a fitness app keeps personal data, a DPO and counsel set retention rules (counsel revises two keyed rules with their key and overrides a third in other words, unkeyed), two builders implement erasure and retention, then build and audit tasks',
  phaseOutputs: ['discover', 'policy', 'build'],
  superseded: {
    'dpo.1': 'counsel.3',
    'dpo.4': 'counsel.1',
    'dpo.6': 'counsel.6',
  },
  duplicates: [
    ['logs-mapper.2', 'db-mapper.11'],
    ['db-mapper.7', 'vendors-mapper.1'],
  ],
  results: [
    {
      agent: 'db-mapper',
      phase: 'discover',
      text: `Mapped personal data in the main PostgreSQL database and its backups.
Finding: users holds email, full name, date of birth, phone number and the password hash; 3.1 million rows, 41 % inactive for more than two years.
Finding: Workouts (workouts, heart_rate_samples) reference users by user_id; heart_rate_samples is 2.4 TB and is health data, a special category under GDPR Article 9.
Finding: Deleting an account today only sets users.deleted = true; workouts, heart-rate samples and payment rows stay.
Finding: payments keeps the Stripe customer id, billing address and invoice amounts; finance says invoices must be kept 10 years under German tax law (AO §147, HGB §257).
Finding: Run routes are stored in workout_routes as PostGIS linestrings; where a route starts and ends reveals the user's home.
Finding: 19 tables have foreign keys to users.id, 7 of them ON DELETE RESTRICT.
Finding: Braze gets each user's email, first name, country and workout count from the hourly sync job (jobs/braze_sync.py).
Finding: PostgreSQL is backed up nightly with pgBackRest to the S3 bucket pulse-db-backups; full backups are kept 35 days, WAL 7 days.
Finding: Each month a full backup is also copied to a Glacier vault and kept forever; the oldest is from 2017.
Finding: Restoring a backup brings deleted users back, and nothing re-applies erasures after a restore.
Finding: The application log bucket next to the backups, pulse-app-logs, has no expiry either and holds everything since 2018.
File changed: none`,
    },
    {
      agent: 'warehouse-mapper',
      phase: 'discover',
      text: `Analytics warehouse.
Finding: BigQuery dataset events_prod receives every app event with user_id, device id and IP address, partitioned by day since 2019; nothing has ever been deleted.
Finding: BigQuery partitions can expire on their own (partition expiration), but events_prod has none set.
Finding: A nightly export copies users, email included, into the BigQuery dataset crm_mirror, which marketing uses for segments.
Finding: Deleting single users from events_prod needs a DML DELETE across every partition, about $40 a run at current volume; batching erasures weekly keeps it to one scan a week.
Finding: The Looker dashboards only need aggregated data for anything older than 13 months.
File changed: none`,
    },
    {
      agent: 'logs-mapper',
      phase: 'discover',
      text: `Logs and error tracking.
Finding: Application logs go to the S3 bucket pulse-app-logs, with request bodies at debug level for the auth and profile services, so emails and dates of birth end up in logs.
Finding: pulse-app-logs has no lifecycle rule: every log since 2018 is still there, 61 TB.
Finding: Load-balancer access logs (bucket pulse-alb-logs) contain client IP addresses; security wants 90 days of them for incident response.
Finding: Sentry events carry the user's email in the user context; Sentry keeps events 90 days on our plan.
Error: The profile service logs the whole PATCH /me body, health goals and weight included, at INFO level, not only at debug.
File changed: none`,
    },
    {
      agent: 'vendors-mapper',
      phase: 'discover',
      text: `Processors outside our infrastructure.
Finding: Braze, the marketing e-mail tool, receives the email address, first name, country and number of workouts of every user.
Finding: Braze deletes users through POST /users/delete, at most 50 external ids per call.
Finding: Zendesk holds support tickets whose free text often includes health details; tickets are never deleted. End users can be deleted for good through the API after a soft delete.
Finding: Stripe keeps customer objects; they cannot be deleted while their invoices are under retention, and Stripe handles redaction requests separately.
Finding: Mixpanel was used until 2022 and still holds event data for 1.2 million users; the contract ended but the project was never deleted.
File changed: none`,
    },
    {
      agent: 'dpo',
      phase: 'policy',
      text: `Retention rules, first version, for review by counsel.
Decision[inactive-accounts]: Accounts inactive for 24 months are deleted, after two warning emails, at 23 and at 23.5 months.
Decision: Erasure requests (Art. 17) are completed within 30 days: personal data deleted or anonymised in every system, except what a legal retention duty requires.
Decision: Invoices and payment records are kept 10 years from the end of the year they were issued, then deleted; meanwhile only finance may read them.
Decision[raw-events]: Raw events in the warehouse are kept 13 months; older data survives only as aggregates without user ids.
Decision: Health data (heart-rate samples, weight, health goals) is deleted with the account, with no grace period.
Decision[backups]: Backups keep their 35-day window; the monthly Glacier copies are deleted after 12 months.
Decision: Workout routes older than 6 months lose their first and last 200 metres, so they no longer point to where the user lives.
Decision: Application logs are kept 30 days; request bodies are never logged in production, at any level.
Decision: Support tickets are deleted 2 years after they were closed.
Finding: The records of processing (Art. 30) must state every retention period; legal publishes the updated privacy notice once the jobs are live.`,
    },
    {
      agent: 'counsel',
      phase: 'policy',
      text: `Counsel's review of the DPO's rules.
Decision[raw-events]: Raw warehouse events are kept 25 months, not 13: the fraud team needs two full years of device history for chargeback disputes. After that only aggregates without user ids remain.
Decision: An erasure does not delete the customer's invoices: they are kept with name and billing address (legal obligation, Art. 17(3)(b)); everything else about the person goes.
Decision: Dormant accounts are removed after two years without a sign-in, with a single reminder email a month before; the second warning is dropped because it confused users in the pilot.
Decision: Load-balancer logs with client IPs are kept 90 days for security, an exception to the 30-day rule for logs.
Decision: Backups are not purged user by user; an erasure ledger of user ids is replayed after any restore, and backups age out on their own schedule.
Decision[backups]: Backups keep their 35-day window, but the monthly archive copies in Glacier go after 6 months, not 12, so an erased user survives in no archive for more than half a year.
Finding: Mixpanel keeping our users' data without a contract breaks Art. 28; the project must be deleted and the deletion confirmed in writing.
File changed: none`,
    },
    {
      agent: 'erasure-dev',
      phase: 'build',
      text: `Erasure service.
File changed: services/erasure/src/worker.ts — an erasure deletes the user's rows from the 19 tables in dependency order in one transaction, deleting the RESTRICT children explicitly first.
File changed: services/erasure/src/vendors.ts — calls Braze /users/delete in batches of 50, deletes the Zendesk end user, and asks Stripe to redact the customer only when no invoice is still under retention.
File changed: db/migrations/20240611_erasure_ledger.sql — table erasure_ledger(user_id, requested_at, completed_at); ids only, no other personal data.
File changed: scripts/replay-erasures.ts — re-applies every ledger entry after a database restore.
Finding: Payment rows are kept but detached: user_id is set to NULL and the name and billing address are copied onto the invoice row, so invoices outlive the user.
Error: Erasing a user with 1.8 million heart-rate samples timed out after 5 minutes in one transaction; the samples are now deleted in batches of 50,000 before the main transaction.
Decision: BigQuery deletions for erased users are batched and run weekly, Sunday 03:00 UTC, well inside the 30-day deadline; they also remove the user from crm_mirror.`,
    },
    {
      agent: 'retention-dev',
      phase: 'build',
      text: `Retention jobs and infrastructure.
File changed: infra/terraform/s3.tf — lifecycle rules: pulse-app-logs objects expire after 30 days, pulse-alb-logs after 90 days.
File changed: infra/terraform/bigquery.tf — partition expiration on events_prod set to 760 days (25 months).
File changed: jobs/inactive_accounts.py — daily job: reminder email 30 days before, deletion through the erasure service at 24 months without a sign-in.
File changed: services/profile/src/logging.ts — request bodies are no longer logged; PATCH /me logs field names only.
Error: Glacier vaults have no lifecycle rules (only the S3 Glacier storage class does), so old monthly archives are deleted by scripts/purge-glacier.ts from the vault inventory.
Finding: The dbt model agg_daily_activity builds the aggregates Looker needs, without user ids, before the partitions expire.
File changed: none`,
    },
  ],
  children: [
    {
      id: 'warehouse-expiry',
      phase: 'build',
      inherits: ['discover', 'policy'],
      task: 'Set up automatic expiry of old analytics data, and keep the dashboards working afterwards.',
      role: 'You are a data engineer.',
      needs: ['counsel.1', 'warehouse-mapper.1', 'warehouse-mapper.2', 'warehouse-mapper.5'],
    },
    {
      id: 'log-buckets',
      phase: 'build',
      inherits: ['discover', 'policy'],
      task: 'Stop personal data piling up in our log storage.',
      needs: ['logs-mapper.1', 'logs-mapper.2', 'logs-mapper.3', 'logs-mapper.5', 'dpo.8', 'counsel.4'],
    },
    {
      id: 'old-vendor',
      phase: 'build',
      inherits: ['discover', 'policy'],
      task: 'Get rid of the data sitting with the product analytics vendor we stopped paying for.',
      needs: ['vendors-mapper.5', 'counsel.7'],
    },
    {
      id: 'routes',
      phase: 'build',
      inherits: ['discover', 'policy'],
      task: "Make old running routes stop giving away people's home addresses.",
      needs: ['dpo.7', 'db-mapper.5'],
    },
    {
      id: 'support-tickets',
      phase: 'build',
      inherits: ['discover', 'policy'],
      task: 'Support asks what happens to their old conversations with customers. Implement whatever we decided.',
      needs: ['vendors-mapper.3', 'dpo.9'],
    },
    {
      id: 'erasure-walkthrough',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'A user just emailed asking us to wipe everything we have on them. Walk me through what actually happens, how long it takes, and what we still keep afterwards.',
      needs: ['dpo.2', 'counsel.2', 'dpo.5', 'erasure-dev.1', 'erasure-dev.2', 'erasure-dev.5', 'erasure-dev.7'],
    },
    {
      id: 'dormant-accounts',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'Check that the job removing dormant accounts does what legal signed off.',
      role: 'You are a compliance auditor.',
      needs: ['counsel.3', 'retention-dev.3'],
    },
    {
      id: 'restore-and-archives',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'If we restore the database from a backup, do erased people come back? And how long do the archived copies live now?',
      needs: [
        'db-mapper.10',
        'counsel.5',
        'erasure-dev.3',
        'erasure-dev.4',
        'counsel.6',
        'db-mapper.9',
        'retention-dev.5',
      ],
    },
    {
      id: 'retention-table',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'Draft the table of how long we keep each kind of data, for the privacy notice and the records of processing.',
      role: 'You are a privacy counsel.',
      needs: ['counsel.3', 'dpo.3', 'counsel.1', 'counsel.6', 'dpo.8', 'counsel.4', 'dpo.9', 'dpo.7', 'dpo.5'],
    },
    {
      id: 'marketing-leak',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'Do erased users still leak to the newsletter tool somehow?',
      needs: ['db-mapper.7', 'vendors-mapper.2', 'erasure-dev.2', 'warehouse-mapper.3', 'erasure-dev.7'],
    },
    {
      id: 'big-accounts',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'Deletion of very active accounts used to time out. Is that fixed?',
      needs: ['erasure-dev.6', 'db-mapper.2'],
    },
    {
      id: 'invoices',
      phase: 'audit',
      inherits: ['discover', 'policy', 'build'],
      task: 'Finance wants to know whether deleting a customer breaks their bookkeeping.',
      needs: ['db-mapper.4', 'dpo.3', 'counsel.2', 'erasure-dev.5'],
    },
  ],
};

export const heldOut3Workflows: BenchWorkflow[] = [gameServer, clusterUpgrade, dataRetention];
