"""Container healthcheck: exit 0 when URL answers 200, else print why and exit 1.
An https:// URL is verified against TLS_CA_FILE (the chain and the name)."""

import os
import ssl
import sys
import urllib.error
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/health"
try:
    ca = os.environ.get("TLS_CA_FILE")
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url, timeout=3, context=context) as response:
        print(response.read().decode()[:500])
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as exc:
    print(f"HTTP {exc.code}: {exc.read().decode()[:500]}")
except Exception as exc:
    print(f"unreachable: {exc}")
sys.exit(1)
