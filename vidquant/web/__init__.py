"""The browser-side decoder of .vq files (vq.js, an ES module; see its JSDoc)."""
