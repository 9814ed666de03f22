"""Fetch a page from the caller's HTTP server with urllib."""

# guards: forbidden_import
# kernel: nonzero_exit
# kernel-error: Operation not permitted
import urllib.request

print(urllib.request.urlopen("http://127.0.0.1:@PORT@/pwned", timeout=2).read())
