#!/bin/sh
# Which processes are the node's kubelet and kube-apiserver: the one definition every script that
# looks at processes uses (gather, the health gates, the trust probe). Not run on its own: a script
# that needs it names it on a line `. /kubemend/lib/proc-identity.sh`, which src/node/remote.ts replaces with
# this text before the script is sent (a node has no file of ours to source).
#
# A process counts only when its real and effective uid are 0 (/proc/PID/status Uid:): any local
# user can start a program named kubelet. A kubelet (and a launcher that runs one in-process: k3s,
# rke2, kubelite, k0s) must also be in the cgroup of a unit that runs kubelets on the layouts
# kubemend knows, or in a container engine's scope outside the pod cgroups (a kubelet run by
# `docker run` / `podman run` from kubelet.service). Of several root kube-apiservers, those in the
# kubelet's pod cgroups (kubepods) win. The cgroup is the systemd one: the `name=systemd` line on
# cgroup v1, else the `0::` line of cgroup v2, else the first v1 controller line; a prefix (a node
# in a container, a --cgroup-root) is allowed, the path is matched by its components.
#
# kube_procs NAME…: walks /proc once for processes whose comm is one of NAMEs and sets
#   KUBE_PROCS    "<pid>:<comm>" a line for each process that is the node's
#   KUBE_IGNORED  "<pid>:<ruid>:<euid>:<comm>:<why>" a line for each one that is not, why being
#                 notroot (not uid 0), nounit (a root kubelet outside any unit that runs one) or
#                 notpod (a root kube-apiserver outside kubepods while another runs inside)
# Every field is digits or a fixed word, so the lists split safely on newlines under any IFS.
KUBE_PROC=/proc
KUBE_NL='
'
KUBE_WS=' 	'
# kube_cgroup DIR: the process's systemd cgroup path into KUBE_CG.
kube_cgroup() {
  KUBE_CG=
  _v2=
  _any=
  while IFS= read -r _l; do
    case $_l in
      *:name=systemd:*) KUBE_CG=${_l#*:name=systemd:}; return 0 ;;
      0::*) _v2=${_l#0::} ;;
      *:*:*) [ -n "$_any" ] || _any=${_l#*:*:} ;;
    esac
  done < "$1/cgroup"
  KUBE_CG=${_v2:-$_any}
}
# kube_in_unit: KUBE_CG is in a system unit that runs a kubelet (kubeadm and most packages:
# kubelet.service; RKE2, K3s, k0s, MicroK8s: their launcher's unit), never a user manager's.
kube_in_unit() {
  case /$KUBE_CG/ in
    */user@*.service/*) return 1 ;;
    */kubelet.service/* | */rke2-agent.service/* | */rke2-server.service/* | */k3s.service/* | \
      */k3s-agent.service/* | */k0sworker.service/* | */k0scontroller.service/* | \
      */snap.microk8s.daemon-kubelite.service/*) return 0 ;;
  esac
  return 1
}
# kube_in_pods: KUBE_CG is below the kubelet's pod cgroups: /kubepods/… (cgroupfs driver) or
# /kubepods.slice/… (systemd driver), also under a --cgroup-root (…/x-kubepods.slice/…).
kube_in_pods() {
  case /$KUBE_CG/ in
    */kubepods/* | */kubepods.slice/* | *-kubepods.slice/*) return 0 ;;
  esac
  return 1
}
# kube_in_container: KUBE_CG is a container engine's own scope (docker, podman), not a pod's.
kube_in_container() {
  kube_in_pods && return 1
  case /$KUBE_CG/ in
    */docker-*.scope/* | */libpod-*.scope/* | */docker/*) return 0 ;;
  esac
  return 1
}
kube_procs() {
  KUBE_PROCS=
  KUBE_IGNORED=
  _api=
  case $- in *f*) _nog=1 ;; *) _nog= ;; esac
  _want=' '
  for _n; do _want="$_want$_n "; done
  set +f
  set -- "$KUBE_PROC"/[0-9]*
  [ -n "$_nog" ] && set -f
  for _d; do
    { IFS= read -r _c < "$_d/comm"; } 2>/dev/null || continue
    case $_want in *" $_c "*) ;; *) continue ;; esac
    _p=${_d##*/}
    _r=
    _e=
    { while IFS=$KUBE_WS read -r _k _r _e _x; do [ "$_k" = Uid: ] && break; done < "$_d/status"; } 2>/dev/null
    case $_r in '' | *[!0-9]*) _r=unknown ;; esac
    case $_e in '' | *[!0-9]*) _e=unknown ;; esac
    if [ "$_r" != 0 ] || [ "$_e" != 0 ]; then
      KUBE_IGNORED="$KUBE_IGNORED$_p:$_r:$_e:$_c:notroot$KUBE_NL"
      continue
    fi
    kube_cgroup "$_d" 2>/dev/null
    case $_c in
      kube-apiserver)
        if kube_in_pods; then _api="$_api$_p:pod$KUBE_NL"; else _api="$_api$_p:host$KUBE_NL"; fi
        continue ;;
      hyperkube) kube_in_unit || kube_in_pods || kube_in_container ;;
      *) kube_in_unit || kube_in_container ;;
    esac || { KUBE_IGNORED="$KUBE_IGNORED$_p:0:0:$_c:nounit$KUBE_NL"; continue; }
    KUBE_PROCS="$KUBE_PROCS$_p:$_c$KUBE_NL"
  done
  # Of several root kube-apiservers, the ones in the kubelet's pod cgroups; any one alone.
  case $_api in *:pod"$KUBE_NL"*) _inpods=1 ;; *) _inpods= ;; esac
  for _t in $_api; do
    if [ -n "$_inpods" ] && [ "${_t#*:}" = host ]; then
      KUBE_IGNORED="$KUBE_IGNORED${_t%:*}:0:0:kube-apiserver:notpod$KUBE_NL"
    else
      KUBE_PROCS="$KUBE_PROCS${_t%:*}:kube-apiserver$KUBE_NL"
    fi
  done
}
