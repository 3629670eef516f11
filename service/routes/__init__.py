"""HTTP routes. They only translate between HTTP and the index library."""
