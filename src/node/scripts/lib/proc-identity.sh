#!/bin/sh
# Which processes are the node's kubelet and kube-apiserver: the one definition every script that
# looks at processes uses (gather, the health gates, the trust probe). Not run on its own: a script
# that needs it names it on a line `. /kubemend/lib/proc-identity.sh`, which src/node/remote.ts replaces with
# this text before the script is sent (a node has no file of ours to source).
#
# A process counts only when its real and effective uid are 0 (/proc/PID/status Uid:): any local
# user can start a program named kubelet. Then by rank, the first rank present wins, and two
# candidates of the winning rank are an ambiguity that names them all and picks none (never /proc
# order):
#   kubelet (and a launcher that runs one in-process: k3s, rke2, kubelite, k0s; hyperkube outside
#   a static pod):
#     1 unit       in the cgroup of a unit that runs kubelets on the layouts kubemend knows;
#     2 container  in a container engine's scope outside the pod cgroups (Flatcar/Typhoon's
#                  kubelet.service runs `docker run … kubelet`: docker puts the container in its own
#                  docker-<id>.scope, NOT below kubelet.service), counted only when kubelet.service
#                  holds the engine's client (a root `docker` or `podman` process in its cgroup):
#                  any root container of a CI job can be named kubelet.
#   kube-apiserver (hyperkube apiserver in a static pod too):
#     1 static     in the kubelet's pod cgroups, in a pod whose UID is the kubelet's hash of a
#                  manifest: 32 hex digits (kubernetes pkg/kubelet/config/common.go applyDefaults:
#                  md5 of host, file and pod, hex-encoded). A pod from the API server has a UUID
#                  (dashes; `_` in the systemd driver's slice names): a root pod of any user.
#     2 host       outside the pod cgroups and any container scope: a unit (the hard way's
#                  kube-apiserver.service).
#   A root kube-apiserver in a pod that is not static is never the node's.
# The cgroup is the systemd one: the `name=systemd` line on cgroup v1, else the `0::` line of cgroup
# v2, else the first v1 controller line; a prefix (a node in a container, a --cgroup-root) is
# allowed, the path is matched by its components.
#
# kube_procs NAME…: walks /proc once for processes whose comm is one of NAMEs and sets
#   KUBE_PROCS    "<pid>:<comm>" a line for each process that is the node's
#   KUBE_IGNORED  "<pid>:<ruid>:<euid>:<comm>:<why>" a line for each one that is not, why being
#                 notroot (not uid 0), nounit (a root kubelet outside any unit that runs one, or in
#                 a container kubelet.service did not start), notpod (a root kube-apiserver outside
#                 a static pod while one runs in a static pod), notstatic (a root kube-apiserver in
#                 a pod that is not a static pod), outranked (a container kubelet while a unit runs
#                 one) or ambiguous (one of several candidates of the same rank: none is taken)
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
# kube_in_static_pod: KUBE_CG is in a pod whose UID is 32 hex digits (the kubelet's hash of a
# static pod's manifest): pod<uid> (cgroupfs) or kubepods-…-pod<uid>.slice (systemd driver).
kube_in_static_pod() {
  kube_in_pods || return 1
  # Component by component: the first pod component below the pod cgroups names the pod.
  _u=
  _in=
  _rest=${KUBE_CG#/}/
  while [ -n "$_rest" ] && [ -z "$_u" ]; do
    _comp=${_rest%%/*}
    _rest=${_rest#*/}
    case $_comp in
      kubepods | kubepods.slice | *-kubepods.slice) _in=1 ;;
      *kubepods-*pod*.slice) [ -n "$_in" ] && { _u=${_comp##*-pod}; _u=${_u%.slice}; } ;;
      pod*) [ -n "$_in" ] && _u=${_comp#pod} ;;
    esac
  done
  case $_u in '' | *[!0-9a-f]*) return 1 ;; esac
  [ ${#_u} -eq 32 ]
}
# kube_rank COMM: the rank of the root process whose cgroup is KUBE_CG into KUBE_RANK (a group and
# its rank, lower wins), or its reason to be ignored into KUBE_WHY.
kube_rank() {
  KUBE_RANK=
  KUBE_WHY=
  case $1 in
    kube-apiserver | hyperkube)
      if kube_in_static_pod; then KUBE_RANK="api 1"; return 0; fi
      if [ "$1" = kube-apiserver ]; then
        if kube_in_pods; then KUBE_WHY=notstatic
        elif kube_in_container || case /$KUBE_CG/ in */user@*.service/*) true ;; *) false ;; esac; then
          KUBE_WHY=nounit
        else KUBE_RANK="api 2"; fi
        return 0
      fi ;;
  esac
  if kube_in_unit; then KUBE_RANK="$1 1"
  elif kube_in_container; then KUBE_RANK="$1 2"
  else KUBE_WHY=nounit; fi
}
kube_procs() {
  KUBE_PROCS=
  KUBE_IGNORED=
  _cands=
  _engine=
  case $- in *f*) _nog=1 ;; *) _nog= ;; esac
  _want=' '
  for _n; do _want="$_want$_n "; done
  set +f
  set -- "$KUBE_PROC"/[0-9]*
  [ -n "$_nog" ] && set -f
  for _d; do
    { IFS= read -r _c < "$_d/comm"; } 2>/dev/null || continue
    case " docker podman $_want" in *" $_c "*) ;; *) continue ;; esac
    _p=${_d##*/}
    _r=
    _e=
    _pp=
    _st=
    { while IFS=$KUBE_WS read -r _k _r _e _x; do
      case $_k in State:) _st=$_r ;; PPid:) _pp=$_r ;; Uid:) break ;; esac
    done < "$_d/status"; } 2>/dev/null
    # A process that has ended and is not yet reaped (its name stays, its program is gone) is no kubelet.
    [ "$_st" = Z ] && continue
    case $_r in '' | *[!0-9]*) _r=unknown ;; esac
    case $_e in '' | *[!0-9]*) _e=unknown ;; esac
    case $_c in
      docker | podman)
        # The engine's client in kubelet.service: that unit runs its kubelet in a container.
        kube_cgroup "$_d" 2>/dev/null
        case /$KUBE_CG/ in */user@*.service/*) ;; */kubelet.service/*) [ "$_r$_e" = 00 ] && _engine=1 ;; esac
        case $_want in *" $_c "*) ;; *) continue ;; esac ;;
    esac
    if [ "$_r" != 0 ] || [ "$_e" != 0 ]; then
      KUBE_IGNORED="$KUBE_IGNORED$_p:$_r:$_e:$_c:notroot$KUBE_NL"
      continue
    fi
    kube_cgroup "$_d" 2>/dev/null
    kube_rank "$_c"
    if [ -n "$KUBE_WHY" ]; then
      KUBE_IGNORED="$KUBE_IGNORED$_p:0:0:$_c:$KUBE_WHY$KUBE_NL"
      continue
    fi
    case $_pp in '' | *[!0-9]*) _pp=0 ;; esac
    _cands="$_cands$_p:$_c:${KUBE_RANK% *}:${KUBE_RANK#* }:$_pp$KUBE_NL"
  done
  # A child that a candidate has just forked keeps its name, program and command line until it
  # execs (Go's os/exec, as the kubelet runs mount, iptables or nsenter): it is that process for a
  # moment, not a second one, so it is left out. Only the same program with the same command line
  # and rank counts as such a child (a wrapper script named kubelet that runs the kubelet as its
  # child is still a tie), and no user can make a child of a root process.
  _kept=
  for _t in $_cands; do
    _c=${_t#*:}
    _c=${_c%%:*}
    _pp=${_t##*:}
    _g=${_t#*:*:}
    _g=${_g%:*}
    case "$KUBE_NL$_cands" in
      *"$KUBE_NL$_pp:$_c:$_g:"*)
        _same=
        if [ "$(readlink "$KUBE_PROC/${_t%%:*}/exe" 2>/dev/null)" = "$(readlink "$KUBE_PROC/$_pp/exe" 2>/dev/null)" ] &&
          [ "$(tr '\000' '\001' < "$KUBE_PROC/${_t%%:*}/cmdline" 2>/dev/null)" = "$(tr '\000' '\001' < "$KUBE_PROC/$_pp/cmdline" 2>/dev/null)" ]; then
          _same=1
        fi
        # Its name read last: a child that exec'd (or ended) since the walk, even between the reads
        # above (a new program, the old name for a moment), is no kubelet any more.
        _now=
        { IFS= read -r _now < "$KUBE_PROC/${_t%%:*}/comm"; } 2>/dev/null
        [ "$_now" = "$_c" ] || continue
        [ -n "$_same" ] && continue ;;
    esac
    _kept="$_kept${_t%:*}$KUBE_NL"
  done
  _cands=$_kept
  # Per group: the best rank present; a container kubelet only when kubelet.service runs the engine.
  for _t in $_cands; do
    _g=${_t#*:*:}
    _rk=${_g#*:}
    _g=${_g%:*}
    _c=${_t#*:}
    _c=${_c%%:*}
    _best=9
    _n=0
    for _o in $_cands; do
      _og=${_o#*:*:}
      [ "${_og%:*}" = "$_g" ] || continue
      [ "${_og#*:}" -lt "$_best" ] && _best=${_og#*:} && _n=0
      [ "${_og#*:}" -eq "$_best" ] && _n=$((_n + 1))
    done
    if [ "$_g" != api ] && [ "$_best" = 2 ] && [ -z "$_engine" ]; then _why=nounit
    elif [ "$_rk" != "$_best" ]; then
      if [ "$_g" = api ]; then _why=notpod; else _why=outranked; fi
    elif [ "$_n" -gt 1 ]; then
      # First, so that the bound on how many are named never hides an ambiguity.
      KUBE_IGNORED="${_t%%:*}:0:0:$_c:ambiguous$KUBE_NL$KUBE_IGNORED"
      continue
    else
      KUBE_PROCS="$KUBE_PROCS${_t%%:*}:$_c$KUBE_NL"
      continue
    fi
    KUBE_IGNORED="$KUBE_IGNORED${_t%%:*}:0:0:$_c:$_why$KUBE_NL"
  done
}
