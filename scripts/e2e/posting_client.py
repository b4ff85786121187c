#!/usr/bin/env python3
"""A customer who keeps posting through a crash, and the check of what the ledger kept.

Used by the end-to-end scripts (scripts/compose-e2e.sh, scripts/cluster/e2e.sh) while they kill
a transaksi process or pod. Standard library only.

  posting_client.py register TRANSAKSI_URL PIN
      Registers a new customer (NIK and phone number from the clock) and prints the account
      number.

  posting_client.py run   TRANSAKSI_URL ACCOUNT PIN OPS OUT.json
      Posts OPS deposits to ACCOUNT one after another, each with its own Idempotency-Key and a
      nominal that tells it apart (1000.01, 1000.02, ...). A request that gets no answer
      (connection refused or reset, timeout) or a 5xx is retried with the SAME key until it is
      answered, for at most RETRY_SECS (default 180) per operation. Writes every operation with
      its key, nominal, attempts and outcome to OUT.json. Exits 1 if an operation was refused
      (4xx) or never answered.

  posting_client.py check TRANSAKSI_URL MUTASI_URL ACCOUNT PIN OUT.json
      Checks the ledger against the acknowledged operations in OUT.json: the balance equals
      their sum, and the statement holds each of their nominals exactly once and nothing else
      (it waits up to WAIT_SECS, default 120, for the statement to catch up). Prints one line:
      "acknowledged N, in balance N, in statement N (retried R, unanswered attempts U)".

  posting_client.py snapshot TRANSAKSI_URL MUTASI_URL ACCOUNT PIN
      Prints the balance and the whole statement as one JSON document (to compare before and
      after a restart).
"""

import base64
import decimal
import json
import os
import sys
import time
import urllib.error
import urllib.request

D = decimal.Decimal


def auth_header(account, pin):
    token = base64.b64encode(f"{account}:{pin}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def call(method, url, headers, body=None, timeout=10):
    """Returns (status, parsed JSON or None); status 0 when nothing was answered."""
    data = None
    headers = dict(headers)
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read(), parse_float=D)
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text, parse_float=D)
        except ValueError:
            return error.code, None
    except (OSError, ValueError):
        return 0, None


def post_until_answered(url, headers, op, retry_secs):
    deadline = time.monotonic() + retry_secs
    while True:
        op["attempts"] += 1
        status, body = call("POST", f"{url}/tabung", headers,
                            {"no_rekening": op["account"], "nominal": float(op["nominal"])})
        if status == 200:
            op["outcome"] = "acknowledged"
            op["saldo"] = str(body["saldo"])
            return
        if 400 <= status < 500:
            op["outcome"] = f"refused {status}: {body}"
            return
        op["unanswered"] += 1 if status == 0 else 0
        if time.monotonic() > deadline:
            op["outcome"] = f"unanswered after {op['attempts']} attempts (last status {status})"
            return
        time.sleep(0.2)


def run(url, account, pin, ops, out):
    retry_secs = float(os.environ.get("RETRY_SECS", "180"))
    run_id = f"{os.getpid()}-{int(time.time())}"
    done = []
    for i in range(1, ops + 1):
        op = {"key": f"e2e-{run_id}-{i}", "account": account,
              "nominal": str(D(1000) + D(i) / 100), "attempts": 0, "unanswered": 0}
        headers = {**auth_header(account, pin), "Idempotency-Key": op["key"]}
        post_until_answered(url, headers, op, retry_secs)
        done.append(op)
        with open(out, "w") as f:
            json.dump(done, f, indent=1)
    failed = [op for op in done if op["outcome"] != "acknowledged"]
    for op in failed:
        print(f"operation {op['key']} ({op['nominal']}): {op['outcome']}", file=sys.stderr)
    return 1 if failed else 0


def statement(mutasi_url, account, headers):
    lines, cursor = [], None
    while True:
        query = "limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, body = call("GET", f"{mutasi_url}/mutasi/{account}?{query}", headers)
        if status != 200:
            raise RuntimeError(f"GET /mutasi answered {status}: {body}")
        lines += body["mutasi"]
        cursor = body.get("next_cursor")
        if not cursor:
            return lines


def balance(url, account, headers):
    status, body = call("GET", f"{url}/saldo/{account}", headers)
    if status != 200:
        raise RuntimeError(f"GET /saldo answered {status}: {body}")
    return D(str(body["saldo"]))


def check(url, mutasi_url, account, pin, out):
    ops = json.load(open(out))
    acked = [D(op["nominal"]) for op in ops if op["outcome"] == "acknowledged"]
    headers = auth_header(account, pin)
    saldo = balance(url, account, headers)
    deadline = time.monotonic() + float(os.environ.get("WAIT_SECS", "120"))
    while True:
        nominals = [D(str(line["nominal"])) for line in statement(mutasi_url, account, headers)]
        if len(nominals) >= len(acked) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    problems = []
    if saldo != sum(acked, D(0)):
        problems.append(f"balance {saldo} != sum of acknowledged deposits {sum(acked, D(0))}")
    missing = sorted(set(acked) - set(nominals))
    extra = sorted(set(nominals) - set(acked))
    twice = sorted({n for n in nominals if nominals.count(n) > 1})
    if missing:
        problems.append(f"not in the statement: {missing[:10]}")
    if extra:
        problems.append(f"in the statement but never acknowledged: {extra[:10]}")
    if twice:
        problems.append(f"in the statement more than once: {twice[:10]}")
    retried = sum(1 for op in ops if op["attempts"] > 1)
    unanswered = sum(op["unanswered"] for op in ops)
    in_statement = len(set(acked) & set(nominals)) - len(twice)
    in_balance = len(acked) if saldo == sum(acked, D(0)) else "mismatch"
    print(f"acknowledged {len(acked)}, in balance {in_balance}, in statement {in_statement} "
          f"(retried {retried}, unanswered attempts {unanswered})")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def register(url, pin):
    stamp = time.time_ns()
    for attempt in range(5):
        nik = "33" + f"{(stamp // 1000 + attempt) % 10**14:014d}"
        no_hp = "0813" + f"{(stamp // 1000 + attempt * 7919) % 10**8:08d}"
        status, body = call("POST", f"{url}/daftar", {},
                            {"nama": "Nasabah Uji", "nik": nik, "no_hp": no_hp, "pin": pin})
        if status == 200:
            print(body["no_rekening"])
            return 0
        print(f"register attempt {attempt + 1}: {status} {body}", file=sys.stderr)
    return 1


def snapshot(url, mutasi_url, account, pin):
    headers = auth_header(account, pin)
    document = {"saldo": str(balance(url, account, headers)),
                "mutasi": statement(mutasi_url, account, headers)}
    print(json.dumps(document, sort_keys=True, default=str))
    return 0


def main(argv):
    verb = argv[1] if len(argv) > 1 else ""
    if verb == "register" and len(argv) == 4:
        return register(argv[2], argv[3])
    if verb == "run" and len(argv) == 7:
        return run(argv[2], argv[3], argv[4], int(argv[5]), argv[6])
    if verb == "check" and len(argv) == 7:
        return check(*argv[2:7])
    if verb == "snapshot" and len(argv) == 6:
        return snapshot(*argv[2:6])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
