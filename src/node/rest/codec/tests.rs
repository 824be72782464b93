//! The protojson codec's unit tests: lenient decoding, strict encoding.

use super::*;

fn obj(text: &str) -> Object {
    parse_object(text.as_bytes()).expect("object")
}

#[test]
fn empty_bodies_are_empty_messages_and_non_objects_are_refused() {
    assert!(parse_object(b"").expect("empty").is_empty());
    assert!(parse_object(b" \n").expect("blank").is_empty());
    for bad in [&b"[]"[..], b"null", b"\"x\"", b"{", b"{\"a\":}", b"\xff"] {
        let err = parse_object(bad).expect_err("refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
}

#[test]
fn u64_strings_and_numbers() {
    let e = envelope_from(
        &json!({"contentTopic": "t", "timestampNs": "18446744073709551615", "message": "AQID"}),
        "e",
    )
    .expect("envelope");
    assert_eq!(e.timestamp_ns, u64::MAX);
    assert_eq!(e.message, [1, 2, 3]);
    let e = envelope_from(&json!({"content_topic": "t", "timestamp_ns": 5}), "e")
        .expect("snake case and a number");
    assert_eq!((e.content_topic.as_str(), e.timestamp_ns), ("t", 5));
    assert!(e.message.is_empty());
    for bad in [
        json!({"timestampNs": "-1"}),
        json!({"timestampNs": "1.5"}),
        json!({"timestampNs": 1.5}),
        json!({"timestampNs": "18446744073709551616"}),
        json!({"timestampNs": true}),
        json!({"contentTopic": 7}),
        json!({"message": 7}),
        json!({"message": "!!"}),
    ] {
        let err = envelope_from(&bad, "envelopes[0]").expect_err("refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{bad}");
        assert!(
            err.message().starts_with("envelopes[0]."),
            "{}",
            err.message()
        );
    }
}

#[test]
fn base64_in_every_protojson_form() {
    let bytes = [0xfb, 0xff, 0xbf, 0x01];
    for text in ["+/+/AQ==", "+/+/AQ", "-_-_AQ==", "-_-_AQ"] {
        let e = envelope_from(&json!({ "message": text }), "e").expect(text);
        assert_eq!(e.message, bytes, "{text}");
    }
    assert_eq!(
        envelope(&Envelope {
            content_topic: "t".into(),
            timestamp_ns: 1,
            message: bytes.to_vec(),
        })["message"],
        "+/+/AQ=="
    );
}

#[test]
fn directions_by_name_or_number() {
    let q = |d: Value| {
        query_request(
            &obj(&json!({"pagingInfo": {"direction": d}}).to_string()),
            "",
        )
    };
    for (input, expected) in [
        (json!("SORT_DIRECTION_ASCENDING"), 1),
        (json!("SORT_DIRECTION_DESCENDING"), 2),
        (json!("SORT_DIRECTION_UNSPECIFIED"), 0),
        (json!(1), 1),
        (json!(9), 9),
    ] {
        let request = q(input.clone()).expect("query");
        assert_eq!(
            request.paging_info.expect("paging").direction,
            expected,
            "{input}"
        );
    }
    for bad in [
        json!("DESCENDING"),
        json!(true),
        json!(1.5),
        json!(4_000_000_000_u64),
    ] {
        assert!(q(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn query_request_with_cursor_and_unknown_fields() {
    let request = query_request(
        &obj(
            r#"{"contentTopics":["a","b"],"startTimeNs":"1","end_time_ns":2,"unknown":{"x":1},
            "pagingInfo":{"limit":"5","cursor":{"index":{"digest":"AAEC","senderTimeNs":"3"}}}}"#,
        ),
        "",
    )
    .expect("query");
    assert_eq!(request.content_topics, ["a", "b"]);
    assert_eq!((request.start_time_ns, request.end_time_ns), (1, 2));
    let paging = request.paging_info.expect("paging");
    assert_eq!(paging.limit, 5);
    assert_eq!(
        paging.cursor.and_then(|c| c.cursor),
        Some(cursor::Cursor::Index(IndexCursor {
            digest: vec![0, 1, 2],
            sender_time_ns: 3
        }))
    );
    let nulls = query_request(&obj(r#"{"contentTopics":null,"pagingInfo":null}"#), "")
        .expect("nulls are defaults");
    assert!(nulls.content_topics.is_empty() && nulls.paging_info.is_none());
    let err = query_request(&obj(r#"{"pagingInfo":{"limit":4294967296}}"#), "")
        .expect_err("limit is a uint32");
    assert!(
        err.message().starts_with("pagingInfo.limit"),
        "{}",
        err.message()
    );
    let err = batch_query_request(&obj(r#"{"requests":[{}, {"contentTopics":[1]}]}"#))
        .expect_err("bad topic");
    assert!(
        err.message().starts_with("requests[1].contentTopics[0]"),
        "{}",
        err.message()
    );
}

#[test]
fn responses_emit_every_field() {
    let full = query_response(&QueryResponse {
        envelopes: vec![Envelope {
            content_topic: "t".into(),
            timestamp_ns: 1_700_000_000_123_000_000,
            message: vec![1],
        }],
        paging_info: Some(PagingInfo {
            limit: 1,
            cursor: Some(Cursor {
                cursor: Some(cursor::Cursor::Index(IndexCursor {
                    digest: vec![0xff; 2],
                    sender_time_ns: 7,
                })),
            }),
            direction: 1,
        }),
    });
    assert_eq!(
        full,
        json!({
            "envelopes": [{"contentTopic": "t", "timestampNs": "1700000000123000000", "message": "AQ=="}],
            "pagingInfo": {"limit": 1, "cursor": {"index": {"digest": "//8=", "senderTimeNs": "7"}},
                           "direction": "SORT_DIRECTION_ASCENDING"}
        })
    );
    let end = query_response(&QueryResponse {
        envelopes: vec![],
        paging_info: Some(PagingInfo {
            limit: 0,
            cursor: None,
            direction: 2,
        }),
    });
    assert_eq!(
        end,
        json!({"envelopes": [], "pagingInfo": {"limit": 0, "cursor": null, "direction": "SORT_DIRECTION_DESCENDING"}})
    );
    assert_eq!(
        batch_query_response(&BatchQueryResponse { responses: vec![] }),
        json!({"responses": []})
    );
}
