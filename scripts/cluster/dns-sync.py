#!/usr/bin/env python3
"""Cluster DNS data for the one-node cluster's dnsmasq (scripts/cluster/up.sh starts it).

  dns-sync.py HOSTS_FILE POD_UIDS_FILE

Every second it reads the Services, Endpoints and Pods (kubectl, $KUBECONFIG) and writes
HOSTS_FILE, which dnsmasq re-reads when it changes (--hostsdir):
  a ClusterIP Service  NAME.NS.svc.cluster.local -> its ClusterIP
  a headless Service   NAME.NS.svc.cluster.local -> each ready endpoint's address, and
                       HOSTNAME.NAME.NS.svc.cluster.local for StatefulSet pods
It also appends the uid of every pod it sees to POD_UIDS_FILE, so that scripts/cluster/down.sh
removes the containers of this cluster's pods and no other container.
"""
import json
import os
import subprocess
import sys
import time


def items(kinds):
    out = subprocess.run(["kubectl", "get", kinds, "--all-namespaces", "-o", "json"],
                         capture_output=True, check=True, timeout=20).stdout
    return json.loads(out)["items"]


def fqdn(meta):
    return f"{meta['name']}.{meta['namespace']}.svc.cluster.local"


def hosts(objects):
    services = [o for o in objects if o["kind"] == "Service"]
    headless = {fqdn(s["metadata"]) for s in services if s["spec"].get("clusterIP") == "None"}
    lines = {f"{s['spec']['clusterIP']} {fqdn(s['metadata'])}" for s in services
             if s["spec"].get("clusterIP") not in (None, "", "None")}
    for endpoints in (o for o in objects if o["kind"] == "Endpoints"):
        name = fqdn(endpoints["metadata"])
        for subset in endpoints.get("subsets") or []:
            for address in subset.get("addresses") or []:
                if name in headless:
                    lines.add(f"{address['ip']} {name}")
                if address.get("hostname"):
                    lines.add(f"{address['ip']} {address['hostname']}.{name}")
    return "".join(f"{line}\n" for line in sorted(lines))


def main():
    hosts_file, uids_file = sys.argv[1], sys.argv[2]
    written, uids = None, set()
    while True:
        try:
            objects = items("services,endpoints,pods")
            text = hosts(objects)
            if text != written:
                with open(hosts_file + ".tmp", "w") as f:
                    f.write(text)
                os.replace(hosts_file + ".tmp", hosts_file)
                written = text
            new = {o["metadata"]["uid"] for o in objects if o["kind"] == "Pod"} - uids
            if new:
                with open(uids_file, "a") as f:
                    f.writelines(f"{uid}\n" for uid in sorted(new))
                uids |= new
        except (subprocess.SubprocessError, ValueError, KeyError) as error:
            print(f"dns-sync: {error}", file=sys.stderr, flush=True)
        time.sleep(1)


if __name__ == "__main__":
    main()
