/** Where a lab control plane's kube-apiserver simulator finds the cluster's Node objects. */
export declare const IN_NODE_NODES: string;
