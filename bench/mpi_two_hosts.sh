#!/usr/bin/env bash
# An MPI run that really crosses a network, on one machine: two network namespaces ("hosts")
# joined by a veth pair, mpirun in the first, its launch agent (plm_rsh_agent) starting the
# remote daemon inside the second, every byte between ranks over TCP (btl self,tcp). Trains with
# 3 ranks (rank 0 and rank 1 on host a, rank 2 on host b) and cmp's model.bin with the fork
# transport's. Needs root (ip netns) and a built radmm; exits 77 (ctest: skipped) where network
# namespaces cannot be made.   bench/mpi_two_hosts.sh [build/radmm]
set -euo pipefail
cd "$(dirname "$0")/.."
radmm=$(realpath "${1:-build/radmm}")
ns_a=radmm-mpi-a-$$ ns_b=radmm-mpi-b-$$
addr_a=10.217.$(($$ % 250)).1 addr_b=10.217.$(($$ % 250)).2
work=$(mktemp -d /tmp/radmm-two-hosts.XXXXXX)
cleanup() {
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v ip > /dev/null || ! ip netns add "$ns_a" 2> /dev/null; then
  echo "mpi_two_hosts: skipped: cannot create network namespaces here (needs root and iproute2)"
  exit 77
fi
ip netns add "$ns_b"
ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/24" dev veth-a
ip -n "$ns_b" addr add "$addr_b/24" dev veth-b
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up

# The launch agent mpirun calls as "<agent> <host> <command...>" (like ssh): enter that host's namespace.
cat > "$work/agent" <<AGENT
#!/bin/sh
host=\$1; shift
ns=$ns_a
[ "\$host" = "$addr_b" ] && ns=$ns_b
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"
printf '%s slots=2\n%s slots=1\n' "$addr_a" "$addr_b" > "$work/hosts"

args=(train --data builtin:wine-white --depth 7 --width 32 --iterations 5 --quiet)
"$radmm" "${args[@]}" --workers 2 --out "$work/fork" > /dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
ip netns exec "$ns_a" mpirun --timeout 120 --hostfile "$work/hosts" -np 3 --map-by slot \
  --mca plm_rsh_agent "$work/agent" --mca btl self,tcp \
  --mca btl_tcp_if_include "${addr_a%.1}.0/24" --mca oob_tcp_if_include "${addr_a%.1}.0/24" \
  --display-map "$radmm" "${args[@]}" --transport mpi --out "$work/mpi"
cmp "$work/fork/model.bin" "$work/mpi/model.bin"
# Evidence that host b's rank talked over the veth pair: its byte counters.
ip -n "$ns_b" -s link show veth-b | awk '/RX:/{getline; rx=$1} /TX:/{getline; tx=$1} END{print "mpi_two_hosts: host b veth: " rx " bytes in, " tx " bytes out"}'
echo "mpi_two_hosts: model.bin over TCP between two namespaces = fork transport's (cmp)"
