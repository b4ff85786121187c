# prefill.py N STREAM: RESP XADD commands of N well-formed format-2 events on stdout.
import sys, uuid, random, datetime
n, stream = int(sys.argv[1]), sys.argv[2]
def luhn(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        total += d
    return str((10 - total % 10) % 10)
accounts = []
for _ in range(1000):
    body = str(random.randint(1, 9)) + "".join(str(random.randint(0, 9)) for _ in range(8))
    accounts.append(body + luhn(body))
counter = {}
out = sys.stdout.buffer
now = datetime.datetime.now(datetime.timezone.utc)
for i in range(n):
    acct = accounts[i % len(accounts)]
    counter[acct] = counter.get(acct, 0) + 1
    eid = str(uuid.uuid4())
    fields = ["v", "2", "event_id", eid, "transaksi_id", eid, "no_rekening", acct,
              "jenis_transaksi", "C", "nominal", "1.00", "saldo", "%d.00" % counter[acct],
              "urutan_rekening", str(counter[acct]),
              "tanggal_transaksi", now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
              "traceparent", "00-%s-%s-01" % (uuid.uuid4().hex, uuid.uuid4().hex[:16])]
    args = ["XADD", stream, "*"] + fields
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        b = a.encode()
        out.write(b"$%d\r\n%s\r\n" % (len(b), b))
