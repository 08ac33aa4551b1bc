"""What the lab's images serve and ship, shared by the stand-in's exec model
(tests/standin/exec_model.py) and the real cluster's fake-node runtime
(tests/realcluster/podnet.py), so both answer a student's wget alike.

"httpd has no wget" is the commonest reason a student's step 5 fails, so
the tool lists matter as much as the pages.
"""
from __future__ import annotations

HTTPD_PAGE = b"<html><body><h1>It works!</h1></body></html>\n"
NGINX_PAGE = b"""<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

#: busybox and alpine images (and the alpine variants of httpd and nginx).
BUSYBOX_TOOLS = frozenset({"sh", "ash", "wget", "nslookup", "echo", "cat", "hostname", "true", "false", "ls", "env",
                           "sleep", "id", "pwd", "uname", "ps", "printf", "test", "["})
#: Debian-based images (httpd, nginx): a shell and coreutils, no wget, no nslookup.
DEBIAN_TOOLS = frozenset({"sh", "dash", "bash", "echo", "cat", "hostname", "true", "false", "ls", "env", "sleep",
                          "id", "pwd", "uname", "printf", "test", "["})
