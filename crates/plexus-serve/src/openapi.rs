//! The OpenAPI 3.1 document of the API, served at `/api/openapi.json`.

use serde_json::{Value, json};

fn param(name: &str, description: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

fn path_id(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true,
           "description": format!("{what} id; an old person id answers 308 to its survivor"),
           "schema": {"type": "string"}})
}

fn responses(ok: &str, schema: &str) -> Value {
    json!({
        "200": {"description": ok, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "404": {"$ref": "#/components/responses/NotFound"},
        "503": {"$ref": "#/components/responses/Unavailable"}
    })
}

/// The response schemas.
fn schemas() -> Value {
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["status", "message"], "properties": {
            "status": {"type": "integer"}, "message": {"type": "string"}, "parameter": {"type": "string"}}}}},
        "Entity": {"type": "object", "properties": {
            "type": {"enum": ["person", "group"]}, "id": {"type": "string"}, "name": {"type": ["string", "null"]},
            "subtitle": {"type": ["string", "null"]}, "group_type": {"type": "string"}, "last_seen": {"type": ["string", "null"], "format": "date-time"}}},
        "Membership": {"description": "An entity with the membership that links it: the person's role in the group (null: none mapped) and the evidence.",
            "allOf": [{"$ref": "#/components/schemas/Entity"}, {"type": "object", "properties": {
            "member_role": {"type": ["string", "null"]}, "member_first_seen": {"type": ["string", "null"], "format": "date-time"},
            "member_last_seen": {"type": ["string", "null"], "format": "date-time"}, "member_records": {"type": "integer"}}}]},
        "Search": {"type": "object", "properties": {"query": {"type": "string"}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Entity"}}}},
        "Fact": {"type": "object", "properties": {"name": {"type": "string"}, "value": {}, "format": {"type": "string"}, "description": {"type": ["string", "null"]}}},
        "Trait": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}, "source": {"type": "string"},
            "source_key": {"type": "string"}, "observed_at": {"type": ["string", "null"], "format": "date-time"}, "rule": {"type": "string"}}},
        "Person": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
            "identifiers": {"type": "array", "items": {"type": "object"}}, "traits": {"type": "array", "items": {"$ref": "#/components/schemas/Trait"}},
            "groups": {"type": "array", "items": {"$ref": "#/components/schemas/Membership"}}, "facts": {"type": "array", "items": {"$ref": "#/components/schemas/Fact"}}}},
        "Group": {"type": "object", "properties": {
            "id": {"type": "string"}, "group_type": {"type": "string"}, "key": {"type": "string"}, "name": {"type": ["string", "null"]},
            "members": {"type": "array", "items": {"$ref": "#/components/schemas/Membership"}}, "power_users": {"type": "array", "items": {"type": "object"}},
            "facts": {"type": "array", "items": {"$ref": "#/components/schemas/Fact"}}, "related_groups": {"type": "array", "items": {"$ref": "#/components/schemas/Entity"}}}},
        "Timeline": {"type": "object", "properties": {
            "id": {"type": "string"}, "total": {"type": "integer"}, "next_cursor": {"type": ["string", "null"]},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "event_id": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"}, "source": {"type": "string"},
                "source_key": {"type": "string"}, "name": {"type": "string"}, "title": {"type": ["string", "null"]}, "value": {"type": ["number", "null"]},
                "currency": {"type": ["string", "null"]}, "properties": {}, "role": {"type": ["string", "null"]},
                "participants": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "role": {"type": "string"}, "name": {"type": ["string", "null"]}}}}}}}}},
        "SemanticQuery": {"type": "object", "properties": {
            "metrics": {"type": "array", "items": {"type": "string"}}, "measures": {"type": "array", "items": {"type": "string"}},
            "dimensions": {"type": "array", "items": {"type": "string"}},
            "time_dimensions": {"type": "array", "items": {"type": "object", "properties": {"dimension": {"type": "string"}, "granularity": {"enum": ["day", "week", "month", "quarter", "year"]}, "date_range": {}}}},
            "filters": {"type": "array", "items": {"type": "object"}}, "order_by": {}, "limit": {"type": "integer"}, "offset": {"type": "integer"}}},
        "SemanticResult": {"type": "object", "properties": {
            "columns": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "member": {"type": "string"},
                "kind": {"enum": ["dimension", "time_dimension", "measure", "metric"]}, "granularity": {"type": "string"}, "format": {"type": ["string", "null"]}}}},
            "data": {"type": "array", "items": {"type": "object"}}}},
        "Meta": {"type": "object", "properties": {"cubes": {"type": "array", "items": {"type": "object"}}, "metrics": {"type": "array", "items": {"type": "object"}}}},
        "Sources": {"type": "object"},
        "Health": {"type": "object"}
    })
}

/// The document.
pub fn document() -> Value {
    let timeline_params = json!([
        param(
            "source",
            "only events of this source (repeatable, or comma-separated)",
            json!({"type": "string"}),
            false
        ),
        param(
            "event",
            "only events with this name (repeatable, or comma-separated)",
            json!({"type": "string"}),
            false
        ),
        param(
            "from",
            "only events at or after: a date (2024-05-01) or RFC 3339 time",
            json!({"type": "string"}),
            false
        ),
        param(
            "to",
            "only events at or before: a date (its whole day) or RFC 3339 time",
            json!({"type": "string"}),
            false
        ),
        param(
            "cursor",
            "next_cursor of the previous page",
            json!({"type": "string"}),
            false
        ),
        param(
            "limit",
            "items per page",
            json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
            false
        )
    ]);
    let with_id = |what: &str| {
        let mut list = vec![path_id(what)];
        list.extend(timeline_params.as_array().cloned().unwrap_or_default());
        Value::Array(list)
    };
    let (person_timeline, group_timeline) = (with_id("person"), with_id("group"));
    let error = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Plexus API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Persons, groups and their timelines from a Plexus warehouse. Every response is JSON; errors are {\"error\": {status, message, parameter?}}."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "BadRequest": error("a query parameter is unknown or malformed (named in `parameter`)"),
                "Unauthorized": error("the server has an API token and the request did not present it"),
                "NotFound": error("no such person, group or route"),
                "Unavailable": error("no warehouse is built yet, or it could not be read")
            },
            "schemas": schemas()
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/search": {"get": {"summary": "Search persons and groups by name, email, phone, identifier, domain (prefix, case-insensitive, ranked)",
                "parameters": [param("q", "search text", json!({"type": "string", "maxLength": 200}), true),
                               param("limit", "results", json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}), false)],
                "responses": responses("ranked results", "Search")}},
            "/api/persons/{id}": {"get": {"summary": "A person's profile: identifiers, traits with provenance, groups, facts",
                "parameters": [path_id("person")], "responses": responses("the person", "Person")}},
            "/api/groups/{id}": {"get": {"summary": "A group's profile: members (power users marked), facts, related groups",
                "parameters": [path_id("group")], "responses": responses("the group", "Group")}},
            "/api/persons/{id}/timeline": {"get": {"summary": "A person's events, newest first",
                "parameters": person_timeline,
                "responses": responses("a page of events", "Timeline")}},
            "/api/groups/{id}/timeline": {"get": {"summary": "The events of a group's members, newest first",
                "parameters": group_timeline,
                "responses": responses("a page of events", "Timeline")}},
            "/api/sources": {"get": {"summary": "The sources of the warehouse with their row counts", "responses": responses("sources", "Sources")}},
            "/api/health": {"get": {"summary": "Whether a warehouse is served, and which", "responses": responses("ok", "Health")}},
            "/api/v1/query": {"post": {"summary": "Run a semantic query (docs/semantic.md): measures, metrics, dimensions, time dimensions, filters, order, limit",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SemanticQuery"}}}},
                "responses": responses("the result's columns and rows", "SemanticResult")}},
            "/api/v1/meta": {"get": {"summary": "Every cube with its measures and dimensions, and the metrics", "responses": responses("the catalog", "Meta")}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        }
    })
}
