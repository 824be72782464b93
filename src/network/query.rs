//! Queries: what to ask a node for, one page of its answer, and walking the pages.

use super::NetworkError;
use super::client::Client;
use crate::proto::message_api::v1::{
    self as api, Envelope, IndexCursor, PagingInfo, QueryRequest, SortDirection,
};

/// A query: topics, optional inclusive time bounds, page size, direction and cursor.
///
/// Defaults follow the node: newest first, 100 per page, no time bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Content topics (at least one).
    pub topics: Vec<String>,
    /// Inclusive lower bound on the sender timestamp; 0 = none.
    pub start_ns: u64,
    /// Inclusive upper bound on the sender timestamp; 0 = none.
    pub end_ns: u64,
    /// Page size, 1..=100; 0 lets the node pick (100).
    pub limit: u32,
    /// Sort order by (sender timestamp, digest).
    pub direction: SortDirection,
    /// Continue after this cursor (from a previous page).
    pub cursor: Option<IndexCursor>,
}

impl Query {
    /// A query on one topic, newest first.
    pub fn topic(topic: impl Into<String>) -> Self {
        Self::topics([topic])
    }

    /// A query on several topics, newest first.
    pub fn topics<T: Into<String>>(topics: impl IntoIterator<Item = T>) -> Self {
        Self {
            topics: topics.into_iter().map(Into::into).collect(),
            start_ns: 0,
            end_ns: 0,
            limit: 0,
            direction: SortDirection::Descending,
            cursor: None,
        }
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Oldest first.
    pub fn ascending(mut self) -> Self {
        self.direction = SortDirection::Ascending;
        self
    }

    /// Newest first (the default).
    pub fn descending(mut self) -> Self {
        self.direction = SortDirection::Descending;
        self
    }

    /// Only envelopes with `start_ns <= timestamp_ns <= end_ns` (0 = unbounded).
    pub fn between(mut self, start_ns: u64, end_ns: u64) -> Self {
        self.start_ns = start_ns;
        self.end_ns = end_ns;
        self
    }

    /// Continues after `cursor`.
    pub fn after(mut self, cursor: Option<IndexCursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// The wire request.
    pub fn to_request(&self) -> QueryRequest {
        QueryRequest {
            content_topics: self.topics.clone(),
            start_time_ns: self.start_ns,
            end_time_ns: self.end_ns,
            paging_info: Some(PagingInfo {
                limit: self.limit,
                cursor: self.cursor.clone().map(|index| api::Cursor {
                    cursor: Some(api::cursor::Cursor::Index(index)),
                }),
                direction: self.direction.into(),
            }),
        }
    }
}

/// One page of a query answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryPage {
    /// The envelopes, in the query's order.
    pub envelopes: Vec<Envelope>,
    /// Where the next page starts; `None` when this was the last page.
    pub next: Option<IndexCursor>,
}

impl QueryPage {
    pub(super) fn from_response(response: api::QueryResponse) -> Self {
        let next = response
            .paging_info
            .and_then(|p| p.cursor)
            .and_then(|c| c.cursor)
            .map(|api::cursor::Cursor::Index(index)| index);
        Self {
            envelopes: response.envelopes,
            next,
        }
    }
}

/// Walks a query page by page, following cursors.
#[derive(Debug)]
pub struct Pages<'a> {
    pub(super) client: &'a Client,
    pub(super) query: Query,
    pub(super) done: bool,
}

impl Pages<'_> {
    /// The next non-empty page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Envelope>>, NetworkError> {
        if self.done {
            return Ok(None);
        }
        let page = self.client.query(&self.query).await?;
        match page.next {
            Some(next) => {
                // A node that hands back the same cursor, or a cursor with no rows,
                // would have us loop forever.
                if page.envelopes.is_empty() || self.query.cursor.as_ref() == Some(&next) {
                    return Err(self
                        .client
                        .protocol("query", "paging cursor did not advance"));
                }
                self.query.cursor = Some(next);
            }
            None => self.done = true,
        }
        if page.envelopes.is_empty() {
            Ok(None)
        } else {
            Ok(Some(page.envelopes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_defaults_to_newest_first() {
        let request = Query::topic("/xmtp/0/m-x/proto").to_request();
        let paging = request.paging_info.expect("paging");
        assert_eq!(paging.direction, SortDirection::Descending as i32);
        assert_eq!(paging.limit, 0);
        assert!(paging.cursor.is_none());
    }
}
