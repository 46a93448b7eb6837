"""The web console: static HTML, CSS and ES modules served under /console/
on the API port (mount.py); the browser signs its Route 53 calls itself."""
