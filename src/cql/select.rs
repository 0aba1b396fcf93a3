//! SELECT: restrictions, reads, selectors, aggregates and paging.
