// What the kubelet simulator knows about KubeletConfiguration v1beta1 (node-facts §1): which
// fields exist (anything else is an unknown field for the strict decoder), the Go types of the
// fields it reads, the defaults, and which command-line flags override which fields.

export const API_VERSION = 'kubelet.config.k8s.io/v1beta1';
export const KIND = 'KubeletConfiguration';

// Fields the simulator reads or serves, by Go type. A nested object lists the struct's fields.
const READ_FIELDS = {
  apiVersion: 'string',
  kind: 'string',
  authentication: {
    x509: { clientCAFile: 'string' },
    webhook: { enabled: 'bool', cacheTTL: 'duration' },
    anonymous: { enabled: 'bool' },
  },
  authorization: {
    mode: 'string',
    webhook: { cacheAuthorizedTTL: 'duration', cacheUnauthorizedTTL: 'duration' },
  },
  staticPodPath: 'string',
  fileCheckFrequency: 'duration',
  address: 'string',
  port: 'int',
  readOnlyPort: 'int',
  healthzPort: 'int',
  healthzBindAddress: 'string',
  tlsCertFile: 'string',
  tlsPrivateKeyFile: 'string',
  serverTLSBootstrap: 'bool',
};

// The other v1beta1 fields (v1.36 list, plus fields older files still carry); their content is kept as is.
const OTHER_FIELDS = `enableServer podLogsDir syncFrequency httpCheckFrequency staticPodURL staticPodURLHeader
  tlsCipherSuites tlsCurvePreferences tlsMinVersion rotateCertificates registryPullQPS registryBurst
  imagePullCredentialsVerificationPolicy preloadedImagesVerificationAllowlist eventRecordQPS eventBurst
  enableDebuggingHandlers enableContentionProfiling oomScoreAdj clusterDomain clusterDNS
  streamingConnectionIdleTimeout nodeStatusUpdateFrequency nodeStatusReportFrequency nodeLeaseDurationSeconds
  imageMinimumGCAge imageMaximumGCAge imageGCHighThresholdPercent imageGCLowThresholdPercent volumeStatsAggPeriod
  kubeletCgroups systemCgroups cgroupRoot cgroupsPerQOS cgroupDriver cpuManagerPolicy singleProcessOOMKill
  cpuManagerPolicyOptions cpuManagerReconcilePeriod draManagerReconcilePeriod memoryManagerPolicy
  topologyManagerPolicy topologyManagerScope topologyManagerPolicyOptions qosReserved runtimeRequestTimeout
  hairpinMode maxPods podCIDR podPidsLimit resolvConf runOnce cpuCFSQuota cpuCFSQuotaPeriod nodeStatusMaxImages
  maxOpenFiles contentType kubeAPIQPS kubeAPIBurst serializeImagePulls maxParallelImagePulls evictionHard
  evictionSoft evictionSoftGracePeriod evictionPressureTransitionPeriod evictionMaxPodGracePeriod
  evictionMinimumReclaim mergeDefaultEvictionSettings podsPerCore enableControllerAttachDetach
  protectKernelDefaults makeIPTablesUtilChains iptablesMasqueradeBit iptablesDropBit featureGates failSwapOn
  memorySwap containerLogMaxSize containerLogMaxFiles containerLogMaxWorkers containerLogMonitorInterval
  configMapAndSecretChangeDetectionStrategy systemReserved kubeReserved reservedSystemCPUs
  showHiddenMetricsForVersion systemReservedCgroup kubeReservedCgroup enforceNodeAllocatable
  allowedUnsafeSysctls volumePluginDir providerID kernelMemcgNotification logging enableSystemLogHandler
  enableSystemLogQuery shutdownGracePeriod shutdownGracePeriodCriticalPods shutdownGracePeriodByPodPriority
  crashLoopBackOff reservedMemory enableProfilingHandler enableDebugFlagsHandler seccompDefault
  memoryThrottlingFactor memoryReservationPolicy registerWithTaints registerNode tracing
  localStorageCapacityIsolation containerRuntimeEndpoint imageServiceEndpoint failCgroupV1 userNamespaces`;

export const SCHEMA = {
  ...Object.fromEntries(OTHER_FIELDS.split(/\s+/).map((name) => [name, 'any'])),
  ...READ_FIELDS,
};

// Relative paths in these fields are resolved against the config file's directory
// (k/k pkg/kubelet/apis/config/helpers.go, KubeletConfigurationPathRefs).
export const PATH_FIELDS = [
  ['staticPodPath'],
  ['authentication', 'x509', 'clientCAFile'],
  ['tlsCertFile'],
  ['tlsPrivateKeyFile'],
  ['resolvConf'],
  ['podLogsDir'],
  ['volumePluginDir'],
];

// Defaults, applied where a field is unset. `zeroIsUnset` mirrors v1beta1 defaulting of
// non-pointer fields (`port: 0`, `fileCheckFrequency: 0s` get the default); pointer fields
// (healthzPort, the `enabled` switches) keep an explicit 0/false.
// `legacy` is the flag default, used when the kubelet runs without --config.
export const DEFAULTS = [
  { path: ['authentication', 'x509'], v1beta1: {}, legacy: {} },
  { path: ['authentication', 'anonymous', 'enabled'], v1beta1: false, legacy: true },
  { path: ['authentication', 'webhook', 'enabled'], v1beta1: true, legacy: false },
  { path: ['authentication', 'webhook', 'cacheTTL'], v1beta1: '2m0s', legacy: '2m0s', zeroIsUnset: true },
  { path: ['authorization', 'mode'], v1beta1: 'Webhook', legacy: 'AlwaysAllow', zeroIsUnset: true },
  {
    path: ['authorization', 'webhook', 'cacheAuthorizedTTL'],
    v1beta1: '5m0s',
    legacy: '5m0s',
    zeroIsUnset: true,
  },
  {
    path: ['authorization', 'webhook', 'cacheUnauthorizedTTL'],
    v1beta1: '30s',
    legacy: '30s',
    zeroIsUnset: true,
  },
  { path: ['address'], v1beta1: '0.0.0.0', legacy: '0.0.0.0', zeroIsUnset: true },
  { path: ['port'], v1beta1: 10250, legacy: 10250, zeroIsUnset: true },
  { path: ['readOnlyPort'], v1beta1: 0, legacy: 10255 },
  { path: ['healthzPort'], v1beta1: 10248, legacy: 10248 },
  { path: ['healthzBindAddress'], v1beta1: '127.0.0.1', legacy: '127.0.0.1', zeroIsUnset: true },
  { path: ['fileCheckFrequency'], v1beta1: '20s', legacy: '20s', zeroIsUnset: true },
  { path: ['staticPodPath'], v1beta1: '', legacy: '' },
];

// Command-line flags that set configuration fields; they beat the file and the drop-ins.
export const CONFIG_FLAGS = {
  'client-ca-file': { path: ['authentication', 'x509', 'clientCAFile'], type: 'string' },
  'anonymous-auth': { path: ['authentication', 'anonymous', 'enabled'], type: 'bool' },
  'authentication-token-webhook': { path: ['authentication', 'webhook', 'enabled'], type: 'bool' },
  'authorization-mode': { path: ['authorization', 'mode'], type: 'string' },
  'pod-manifest-path': { path: ['staticPodPath'], type: 'string' },
  'file-check-frequency': { path: ['fileCheckFrequency'], type: 'duration' },
  address: { path: ['address'], type: 'string' },
  port: { path: ['port'], type: 'int' },
  'read-only-port': { path: ['readOnlyPort'], type: 'int' },
  'healthz-port': { path: ['healthzPort'], type: 'int' },
  'healthz-bind-address': { path: ['healthzBindAddress'], type: 'string' },
  'tls-cert-file': { path: ['tlsCertFile'], type: 'string' },
  'tls-private-key-file': { path: ['tlsPrivateKeyFile'], type: 'string' },
};

// Flag names the kubelet simulator parses with pflag's rules (see flags.mjs).
export const KUBELET_FLAGS = {
  booleans: new Set(
    `anonymous-auth authentication-token-webhook fail-swap-on fail-cgroupv1 register-node register-schedulable
    rotate-certificates rotate-server-certificates enable-server enable-debugging-handlers
    enable-controller-attach-detach make-iptables-util-chains protect-kernel-defaults serialize-image-pulls
    cgroups-per-qos cpu-cfs-quota exit-on-lock-contention keep-terminated-pod-volumes kernel-memcg-notification
    experimental-allocatable-ignore-eviction seccomp-default local-storage-capacity-isolation runonce
    alsologtostderr logtostderr add-dir-header skip-headers skip-log-headers one-output help version`.split(
      /\s+/,
    ),
  ),
  values: new Set([
    ...Object.keys(CONFIG_FLAGS),
    ...[
      'config',
      'config-dir',
      'root-dir',
      'cert-dir',
      'hostname-override',
      'kubeconfig',
      'bootstrap-kubeconfig',
    ],
  ]),
};
