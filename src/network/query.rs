//! Queries: what to ask a node for, one page of its answer, walking the pages, and the
//! client's query calls.

use super::NetworkError;
use super::client::{Client, invalid};
use crate::proto::message_api::v1::{
    self as api, BatchQueryRequest, Envelope, IndexCursor, PagingInfo, QueryRequest, SortDirection,
};
use crate::wire::{MAX_BATCH_QUERIES, MAX_PAGE_SIZE, cursor_digest};

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

    /// What a node may answer to this query, whatever it sent: only envelopes on the
    /// asked topics and inside the asked time bounds, and no more than the page size
    /// asked for; when envelopes are cut off the end, the next page starts after the last
    /// one kept, not where the node said.
    pub fn bound(&self, mut page: QueryPage) -> QueryPage {
        page.envelopes.retain(|e| {
            self.topics.contains(&e.content_topic)
                && (self.start_ns == 0 || e.timestamp_ns >= self.start_ns)
                && (self.end_ns == 0 || e.timestamp_ns <= self.end_ns)
        });
        let limit = match self.limit {
            0 => MAX_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        } as usize;
        if page.envelopes.len() > limit {
            page.envelopes.truncate(limit);
            page.next = page.envelopes.last().map(|e| IndexCursor {
                digest: cursor_digest(&e.content_topic, &e.message).to_vec(),
                sender_time_ns: e.timestamp_ns,
            });
        }
        page
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
    /// The page in a node's answer.
    pub fn from_response(response: api::QueryResponse) -> Self {
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
                // A node that hands back a cursor that does not move on in the query's
                // order (the same one, one from before, one with no rows) would have us
                // loop forever.
                let advances = match &self.query.cursor {
                    None => true,
                    Some(previous) => {
                        let (before, after) = (cursor_key(previous), cursor_key(&next));
                        match self.query.direction {
                            SortDirection::Ascending => after > before,
                            _ => after < before,
                        }
                    }
                };
                if page.envelopes.is_empty() || !advances {
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

/// A cursor's position in the node's (sender time, digest) order.
fn cursor_key(cursor: &IndexCursor) -> (u64, &[u8]) {
    (cursor.sender_time_ns, &cursor.digest)
}

/// How many envelopes [`Client::newest`] looks through for one with a message.
const NEWEST_SCAN_LIMIT: usize = 100;

impl Client {
    /// One page of `query`.
    pub async fn query(&self, query: &Query) -> Result<QueryPage, NetworkError> {
        if query.topics.is_empty() {
            return Err(invalid("a query needs at least one content topic"));
        }
        let page = QueryPage::from_response(self.query_raw(query.to_request()).await?);
        let received = page.envelopes.len();
        let page = query.bound(page);
        if page.envelopes.len() < received {
            tracing::warn!(
                node = %self.url(),
                received,
                kept = page.envelopes.len(),
                "the node answered envelopes the query did not ask for, or too many: dropped"
            );
        }
        Ok(page)
    }

    /// One `Query` call with a request built by the caller.
    pub async fn query_raw(
        &self,
        request: QueryRequest,
    ) -> Result<api::QueryResponse, NetworkError> {
        self.unary("query", request, None, |mut api, req| async move {
            api.query(req).await
        })
        .await
    }

    /// Pages through `query`, starting at its cursor.
    pub fn pages(&self, query: Query) -> Pages<'_> {
        Pages {
            client: self,
            query,
            done: false,
        }
    }

    /// Every envelope matching `query`, following cursors; fails with
    /// [`NetworkError::TooManyResults`] rather than gather more than `max_envelopes`.
    pub async fn query_all(
        &self,
        query: Query,
        max_envelopes: usize,
    ) -> Result<Vec<Envelope>, NetworkError> {
        let topics = query.topics.join(", ");
        let mut pages = self.pages(query);
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await? {
            all.extend(page);
            if all.len() > max_envelopes {
                return Err(NetworkError::TooManyResults {
                    url: self.url().to_owned(),
                    topics,
                    limit: max_envelopes,
                });
            }
        }
        Ok(all)
    }

    /// The newest envelope on `topic` with a non-empty message (what xmtp-js reads from
    /// the private store), looking through at most the newest 100 envelopes.
    pub async fn newest(&self, topic: &str) -> Result<Option<Envelope>, NetworkError> {
        let mut pages = self.pages(Query::topic(topic).limit(10));
        let mut seen = 0;
        while let Some(page) = pages.next_page().await? {
            seen += page.len();
            if let Some(found) = page.into_iter().find(|e| !e.message.is_empty()) {
                return Ok(Some(found));
            }
            if seen >= NEWEST_SCAN_LIMIT {
                break;
            }
        }
        Ok(None)
    }

    /// Several queries in one `BatchQuery` call (at most 50); one page each, in order.
    pub async fn batch_query(&self, queries: &[Query]) -> Result<Vec<QueryPage>, NetworkError> {
        if queries.len() > MAX_BATCH_QUERIES {
            return Err(invalid(&format!(
                "{} queries in one batch; the limit is {MAX_BATCH_QUERIES}",
                queries.len()
            )));
        }
        if queries.iter().any(|q| q.topics.is_empty()) {
            return Err(invalid("a query needs at least one content topic"));
        }
        let request = BatchQueryRequest {
            requests: queries.iter().map(Query::to_request).collect(),
        };
        let response = self
            .unary("batch query", request, None, |mut api, req| async move {
                api.batch_query(req).await
            })
            .await?;
        if response.responses.len() != queries.len() {
            return Err(self.protocol(
                "batch query",
                &format!(
                    "{} answers to {} queries",
                    response.responses.len(),
                    queries.len()
                ),
            ));
        }
        Ok(response
            .responses
            .into_iter()
            .map(QueryPage::from_response)
            .collect())
    }

    /// The newest `n` envelopes on `topic`, newest first.
    pub(super) async fn newest_envelopes(
        &self,
        topic: &str,
        n: usize,
    ) -> Result<Vec<Envelope>, NetworkError> {
        let limit = u32::try_from(n.min(MAX_PAGE_SIZE as usize)).unwrap_or(MAX_PAGE_SIZE);
        Ok(self
            .query(&Query::topic(topic).limit(limit))
            .await?
            .envelopes)
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
