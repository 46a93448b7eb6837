"""The zone the transfer tests serve."""
ZONE = """\
$ORIGIN xfr.test.
$TTL 3600
@           3600 IN SOA ns1.xfr.test. hostmaster.xfr.test. 10 7200 3600 1209600 300
            3600 IN NS  ns1
            3600 IN NS  ns2
            3600 IN MX  10 mail
            3600 IN TXT "v=spf1 -all"
ns1         3600 IN A    192.0.2.1
ns1         3600 IN AAAA 2001:db8::1
ns2         3600 IN A    192.0.2.2
www          300 IN A    192.0.2.10
www          300 IN A    192.0.2.11
www          600 IN AAAA 2001:db8::10
mail        3600 IN A    192.0.2.25
txt          120 IN TXT  "hello world" "second; string"
_sip._tcp    900 IN SRV  10 60 5060 sipserver
sipserver    900 IN A    192.0.2.50
alias        100 IN CNAME www
*.wild       200 IN A    192.0.2.100
sub.wild     201 IN A    192.0.2.101
a.b.c.ent    204 IN A    192.0.2.104
child       1800 IN NS   ns.child
ns.child    1800 IN A    192.0.2.53
caa         3600 IN CAA 0 issue "letsencrypt.org"
"""

# (name, type) pairs compared between zonefront and the secondaries
NAMES = [
    ("xfr.test.", "SOA"), ("xfr.test.", "NS"), ("xfr.test.", "MX"), ("xfr.test.", "TXT"),
    ("ns1.xfr.test.", "A"), ("ns1.xfr.test.", "AAAA"), ("www.xfr.test.", "A"),
    ("www.xfr.test.", "AAAA"), ("www.xfr.test.", "MX"), ("txt.xfr.test.", "TXT"),
    ("_sip._tcp.xfr.test.", "SRV"), ("alias.xfr.test.", "A"), ("x.wild.xfr.test.", "A"),
    ("sub.wild.xfr.test.", "A"), ("c.ent.xfr.test.", "A"), ("nothere.xfr.test.", "A"),
    ("caa.xfr.test.", "CAA"), ("new.xfr.test.", "A"), ("mail.xfr.test.", "A"),
]
