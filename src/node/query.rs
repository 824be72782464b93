//! Query semantics of the reference node (xmtp-node-go `Query`/`BatchQuery` and
//! `store/query.go`), as a pure translation from a `QueryRequest` to a [`StoreQuery`]
//! and from the rows back to a `QueryResponse`.

use tonic::Status;

use super::Limits;
use super::store::{StoreQuery, StoredPage};
use crate::proto::message_api::v1::{
    Cursor, IndexCursor, PagingInfo, QueryRequest, QueryResponse, SortDirection, cursor,
};

/// A validated query: what to run and how to describe the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub store: StoreQuery,
    pub page_size: u32,
    pub direction: SortDirection,
}

/// Validates `request` against the reference semantics and our limits.
///
/// - at least one topic ("content topics required"), at most `max_topics_per_query`,
///   none empty or longer than `max_topic_len`;
/// - `limit` 0 means `max_page_size` (100); more is "cannot exceed 100 rows per query";
/// - direction unspecified means descending; an unknown value is an error;
/// - `start_time_ns`/`end_time_ns` are inclusive, 0 means unbounded;
/// - a cursor with an empty digest is ignored (as the reference node did); otherwise
///   the digest must be 32 bytes and rows strictly after `(sender_time_ns, digest)` in
///   the query's order are returned. (The reference compared the digest alone when
///   `sender_time_ns` was 0; we always compare the pair, which only differs for
///   envelopes dated 0 and never skips or repeats rows.)
pub(crate) fn plan(request: &QueryRequest, limits: &Limits) -> Result<Plan, Status> {
    if request.content_topics.is_empty() {
        return Err(Status::invalid_argument("content topics required"));
    }
    if request.content_topics.len() > limits.max_topics_per_query {
        return Err(Status::invalid_argument(format!(
            "too many content topics: {} (limit {})",
            request.content_topics.len(),
            limits.max_topics_per_query
        )));
    }
    for (i, topic) in request.content_topics.iter().enumerate() {
        check_topic(i, topic, limits)?;
    }

    let paging = request.paging_info.clone().unwrap_or_default();
    let page_size = match paging.limit {
        0 => limits.max_page_size,
        n if n > limits.max_page_size => {
            return Err(Status::invalid_argument(format!(
                "cannot exceed {} rows per query",
                limits.max_page_size
            )));
        }
        n => n,
    };
    let direction = match SortDirection::try_from(paging.direction) {
        Ok(SortDirection::Unspecified | SortDirection::Descending) => SortDirection::Descending,
        Ok(SortDirection::Ascending) => SortDirection::Ascending,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown sort direction {}",
                paging.direction
            )));
        }
    };
    let after = match paging.cursor.and_then(|c| c.cursor) {
        Some(cursor::Cursor::Index(index)) if !index.digest.is_empty() => {
            if index.digest.len() != 32 {
                return Err(Status::invalid_argument(format!(
                    "cursor digest must be 32 bytes, got {}",
                    index.digest.len()
                )));
            }
            Some((index.sender_time_ns, index.digest))
        }
        _ => None,
    };
    let nonzero = |ns: u64| (ns != 0).then_some(ns);
    Ok(Plan {
        store: StoreQuery {
            topics: request.content_topics.clone(),
            start_ns: nonzero(request.start_time_ns),
            end_ns: nonzero(request.end_time_ns),
            descending: direction == SortDirection::Descending,
            after,
            limit: page_size,
        },
        page_size,
        direction,
    })
}

/// Checks one topic of a query or subscription.
pub(crate) fn check_topic(index: usize, topic: &str, limits: &Limits) -> Result<(), Status> {
    if topic.is_empty() {
        return Err(Status::invalid_argument(format!(
            "content topic {index} is empty"
        )));
    }
    if topic.len() > limits.max_topic_len {
        return Err(Status::invalid_argument(format!(
            "content topic {index} is {} bytes (limit {})",
            topic.len(),
            limits.max_topic_len
        )));
    }
    Ok(())
}

/// The answer: the rows, and paging info that carries the last row's cursor when a
/// full page came back (there may be more), or `{limit: 0, no cursor}` when fewer rows
/// than the page size came back (the end).
///
/// A page cut short by the response byte budget also carries a cursor, since more rows
/// remain: its last row's if it has rows. A batch whose budget was spent by earlier
/// queries may cut a query short with no rows at all; its cursor is then the one the
/// request came with, so the client asks again from the same place, or, for a request
/// without one, [`before_every_row`] in the query's order. We hand out a real 32-byte
/// cursor rather than none (which would read as "the end") or an empty digest (which
/// only nodes that ignore empty digests, like this one and the reference, would read as
/// "from the start").
pub(crate) fn response(plan: &Plan, page: StoredPage) -> QueryResponse {
    let full = page.envelopes.len() >= plan.page_size as usize || page.truncated;
    let paging_info = if full {
        let index = page.last.or_else(|| {
            page.truncated.then(|| match &plan.store.after {
                Some((sender_time_ns, digest)) => IndexCursor {
                    digest: digest.clone(),
                    sender_time_ns: *sender_time_ns,
                },
                None => before_every_row(plan.store.descending),
            })
        });
        PagingInfo {
            limit: plan.page_size,
            cursor: index.map(|index| Cursor {
                cursor: Some(cursor::Cursor::Index(index)),
            }),
            direction: plan.direction.into(),
        }
    } else {
        PagingInfo {
            limit: 0,
            cursor: None,
            direction: plan.direction.into(),
        }
    };
    QueryResponse {
        envelopes: page.envelopes,
        paging_info: Some(paging_info),
    }
}

/// A cursor that every row follows in the query's order: `(0, 00…00)` ascending,
/// `(u64::MAX, ff…ff)` descending. Rows come strictly after a cursor, so only a row with
/// exactly that timestamp and an all-zero (all-ones) SHA-256 digest would be skipped.
pub(crate) fn before_every_row(descending: bool) -> IndexCursor {
    if descending {
        IndexCursor {
            digest: vec![0xff; 32],
            sender_time_ns: u64::MAX,
        }
    } else {
        IndexCursor {
            digest: vec![0; 32],
            sender_time_ns: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::message_api::v1::Envelope;

    fn request(limit: u32, direction: i32) -> QueryRequest {
        QueryRequest {
            content_topics: vec!["/xmtp/0/m-x/proto".into()],
            start_time_ns: 0,
            end_time_ns: 0,
            paging_info: Some(PagingInfo {
                limit,
                cursor: None,
                direction,
            }),
        }
    }

    fn code(result: Result<Plan, Status>) -> tonic::Code {
        result.err().map_or(tonic::Code::Ok, |s| s.code())
    }

    #[test]
    fn limit_zero_means_100_and_more_is_refused() {
        let limits = Limits::default();
        assert_eq!(plan(&request(0, 0), &limits).expect("plan").page_size, 100);
        assert_eq!(
            plan(&request(100, 0), &limits).expect("plan").page_size,
            100
        );
        let err = plan(&request(101, 0), &limits).expect_err("101");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(err.message(), "cannot exceed 100 rows per query");
        let mut no_paging = request(0, 0);
        no_paging.paging_info = None;
        let p = plan(&no_paging, &limits).expect("plan");
        assert_eq!((p.page_size, p.direction), (100, SortDirection::Descending));
    }

    #[test]
    fn direction_defaults_to_descending_and_unknown_is_refused() {
        let limits = Limits::default();
        assert!(
            plan(&request(5, 0), &limits)
                .expect("plan")
                .store
                .descending
        );
        assert!(
            plan(&request(5, 2), &limits)
                .expect("plan")
                .store
                .descending
        );
        assert!(
            !plan(&request(5, 1), &limits)
                .expect("plan")
                .store
                .descending
        );
        assert_eq!(
            code(plan(&request(5, 7), &limits)),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn topics_are_required_and_bounded() {
        let limits = Limits::default();
        let mut r = request(1, 0);
        r.content_topics.clear();
        let err = plan(&r, &limits).expect_err("no topics");
        assert_eq!(err.message(), "content topics required");
        r.content_topics = vec![String::new()];
        assert_eq!(code(plan(&r, &limits)), tonic::Code::InvalidArgument);
        r.content_topics = vec!["t".repeat(301)];
        assert_eq!(code(plan(&r, &limits)), tonic::Code::InvalidArgument);
        r.content_topics = vec!["t".into(); 101];
        assert_eq!(code(plan(&r, &limits)), tonic::Code::InvalidArgument);
        r.content_topics = vec!["t".into(); 100];
        assert_eq!(code(plan(&r, &limits)), tonic::Code::Ok);
    }

    #[test]
    fn cursors_and_time_bounds() {
        let limits = Limits::default();
        let mut r = request(5, 1);
        r.start_time_ns = 10;
        r.end_time_ns = 0;
        let with_cursor = |digest: Vec<u8>| {
            Some(Cursor {
                cursor: Some(cursor::Cursor::Index(IndexCursor {
                    digest,
                    sender_time_ns: 77,
                })),
            })
        };
        r.paging_info.as_mut().expect("paging").cursor = with_cursor(vec![9; 32]);
        let p = plan(&r, &limits).expect("plan");
        assert_eq!((p.store.start_ns, p.store.end_ns), (Some(10), None));
        assert_eq!(p.store.after, Some((77, vec![9; 32])));
        r.paging_info.as_mut().expect("paging").cursor = with_cursor(vec![]);
        assert_eq!(plan(&r, &limits).expect("plan").store.after, None);
        r.paging_info.as_mut().expect("paging").cursor = with_cursor(vec![1; 31]);
        assert_eq!(code(plan(&r, &limits)), tonic::Code::InvalidArgument);
    }

    #[test]
    fn paging_info_has_a_cursor_only_for_full_or_truncated_pages() {
        let limits = Limits::default();
        let p = plan(&request(2, 0), &limits).expect("plan");
        let env = Envelope {
            content_topic: "t".into(),
            timestamp_ns: 3,
            message: vec![1],
        };
        let last = IndexCursor {
            digest: vec![7; 32],
            sender_time_ns: 3,
        };
        let full = response(
            &p,
            StoredPage {
                envelopes: vec![env.clone(), env.clone()],
                last: Some(last.clone()),
                truncated: false,
                ..StoredPage::default()
            },
        );
        let info = full.paging_info.expect("paging");
        assert_eq!(info.limit, 2);
        assert_eq!(info.direction, SortDirection::Descending as i32);
        assert_eq!(
            info.cursor.and_then(|c| c.cursor),
            Some(cursor::Cursor::Index(last.clone()))
        );
        let short = response(
            &p,
            StoredPage {
                envelopes: vec![env.clone()],
                last: Some(last.clone()),
                truncated: false,
                ..StoredPage::default()
            },
        );
        let info = short.paging_info.expect("paging");
        assert_eq!((info.limit, info.cursor), (0, None));
        let cut = response(
            &p,
            StoredPage {
                envelopes: vec![env],
                last: Some(last),
                truncated: true,
                ..StoredPage::default()
            },
        );
        assert!(cut.paging_info.expect("paging").cursor.is_some());
    }

    #[test]
    fn a_page_cut_short_with_no_rows_keeps_a_cursor_to_continue_from() {
        let limits = Limits::default();
        let index = |cursor: Option<Cursor>| match cursor.and_then(|c| c.cursor) {
            Some(cursor::Cursor::Index(index)) => index,
            None => panic!("no cursor"),
        };
        let empty_cut = StoredPage {
            truncated: true,
            ..StoredPage::default()
        };
        // Without a request cursor: one that precedes every row, in either order.
        for (direction, descending) in [(1, false), (2, true)] {
            let p = plan(&request(5, direction), &limits).expect("plan");
            let info = response(&p, empty_cut.clone()).paging_info.expect("paging");
            assert_eq!(info.limit, 5);
            assert_eq!(index(info.cursor), before_every_row(descending));
        }
        // With one: the same cursor, so the client asks again from there.
        let mut r = request(5, 1);
        let asked = IndexCursor {
            digest: vec![4; 32],
            sender_time_ns: 9,
        };
        r.paging_info.as_mut().expect("paging").cursor = Some(Cursor {
            cursor: Some(cursor::Cursor::Index(asked.clone())),
        });
        let p = plan(&r, &limits).expect("plan");
        let info = response(&p, empty_cut).paging_info.expect("paging");
        assert_eq!(index(info.cursor), asked);
        // An empty page that is not cut short is the end.
        let p = plan(&request(5, 1), &limits).expect("plan");
        let info = response(&p, StoredPage::default())
            .paging_info
            .expect("paging");
        assert_eq!((info.limit, info.cursor), (0, None));
    }
}
