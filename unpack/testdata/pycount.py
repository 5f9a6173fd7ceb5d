# Count the MIME entities of each message the way Python's email package
# sees them, for TestPythonAgrees. Reads file names on stdin, writes
# "count<TAB>name" lines. message/* parts other than rfc822, global and
# news are not descended into (Python reads message/delivery-status as a
# list of header blocks; we keep it a leaf).
import sys, email, email.policy

def count(m):
    n = 1
    ct = m.get_content_type()
    if m.is_multipart():
        if ct.startswith('message/') and ct not in ('message/rfc822', 'message/global', 'message/news'):
            return n
        for sub in m.get_payload():
            n += count(sub)
    return n

sys.setrecursionlimit(10000)
for line in sys.stdin:
    name = line.rstrip('\n')
    try:
        with open(name, 'rb') as f:
            m = email.message_from_binary_file(f, policy=email.policy.compat32)
        print('%d\t%s' % (count(m), name))
    except Exception as e:
        print('-1\t%s' % name)
