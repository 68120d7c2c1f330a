#!/usr/bin/env python3
"""Near-miss instances for JSON Schemas, with Python jsonschema's verdict on each.

Usage: near_misses.py SCHEMA.json...

For every schema: its root `examples`, then instances made by mutating each example the
way a sender gets a message almost right (a missing required property, an unknown one, a
wrong type, a number or length just outside or just inside a bound, a near-miss enum value,
a broken date-time, duration or URI, a swapped oneOf discriminator...), following `$ref`,
combinators and nested properties. Prints one JSON line per instance:

    {"schema": PATH, "instance": ..., "valid": true|false, "mutation": "how it was made"}

where "valid" is Draft202012Validator's verdict with its format checker. Deterministic
(seeded) and bounded (MAXIMUM_PER_SCHEMA instances per schema). Exits non-zero, saying what
to install, when the format checkers for date-time, duration or uri are not active: without
them every format check would silently pass.

Some strings are never generated because Python's checkers and the specifications disagree
on them (Muster follows the specifications; JSONFormatTests.swift pins its behaviour):
  - a trailing newline after a date-time, time or URI (Python's `$` accepts it);
  - leap seconds (23:59:60 UTC), which RFC 3339 allows and rfc3339-validator refuses;
  - the year 0000, which RFC 3339 allows and Python's datetime cannot represent;
  - durations that skip a component (P1Y1D), have fractions (P1.5D) or signs (-P1D), which
    RFC 3339 appendix A forbids and isoduration accepts;
  - emails other than "no @ at all" (Python only checks for an "@");
  - multipleOf with a fractional divisor on values whose binary quotient is not exact, such
    as 19.99 and 0.01 (Python divides in binary floating point and refuses them);
  - non-ASCII digits and word characters against \\d and \\w, and newlines against $ (Python's
    `re` is not ECMA-262).
"""

import copy
import json
import random
import sys
import urllib.parse

MAXIMUM_PER_SCHEMA = 400
SEED = 20261121
INSTALL = "python3 -m pip install 'jsonschema[format-nongpl]>=4.18'  (add --break-system-packages if pip refuses)"

FORMAT_SAMPLES = {
    "date-time": ["2026-11-21T09:30:00+08:00", "2026-11-21T09:30:00Z", "2026-11-21t09:30:00.250z", "2024-02-29T00:00:00Z",
                  "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T10:00:00Z", "2100-02-29T00:00:00Z",
                  "2026-11-21T24:00:00Z", "2026-11-21T09:60:00Z", "2026-11-21T09:30:00", "2026-11-21 09:30:00Z",
                  "2026-11-21T09:30:00+0800", "2026-11-21T09:30:00+24:00", "2026-11-21T09:30Z", "2026-11-21T09:30:00.Z",
                  "2026-11-21", "", " 2026-11-21T09:30:00Z", "2026-11-21T09:30:00Z "],
    "date": ["2026-11-21", "2024-02-29", "2026-02-29", "2026-13-01", "2026-04-31", "2026-00-01", "2026-01-00",
             "2026-1-01", "20261121", "2026-11-21T00:00:00Z", "", " 2026-11-21"],
    "time": ["09:30:00+08:00", "09:30:00Z", "09:30:00.5z", "09:30:00", "24:00:00Z", "09:60:00Z", "09:30:00+0800",
             "9:30:00Z", "09:30:00+24:00", "09:30:00.Z", ""],
    "duration": ["P1D", "PT36H", "P1DT12H", "P2W", "P1Y2M3DT4H5M6S", "PT0S", "P1M", "PT1M", "P1Y0M1D", "P1M1D", "P1YT1H",
                 "P", "PT", "1D", "P1D2H", "PT1D", "P1Y2W", "P1W1D", "P2S", "P2D1Y", "P1DT", "P1", " P1D", "P1D ",
                 "p1d", "", "PT1M1H", "PW"],
    "uri": ["https://example.org/path", "urn:isbn:0451450523", "mailto:duty@example.org", "http://[::1]:8080/p?q=1#f",
            "a:", "file:///x", "https:example", "HTTP://EXAMPLE.ORG", "http://ex%41mple", "http//x", "//example.org",
            "/relative", "http://x y", "http://exa%mple", "1http://x", "http://a/b?c#d#e", "http://é.example",
            "http://a:x/", "http://[::1", "http://a@b@c/", "http://a/[", "", " http://x", "https://example.org/%zz",
            "http://[1:2:3:4:5:6:7:8:9]/", "http://[::1]x/"],
    "email": ["duty@example.org", "duty.example.org", "duty example.org", ""],
}

WRONG_TYPES = [None, True, 0, 1.5, "x", [], {}]


def fail(message):
    print(f"near_misses.py: {message}", file=sys.stderr)
    sys.exit(2)


def validator_class():
    """Draft202012Validator, after checking that the format checkers we rely on are active."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        fail(f"Python's jsonschema is not installed; install it with: {INSTALL}")
    checker = Draft202012Validator.FORMAT_CHECKER
    probes = {"date-time": "2026-13-01T00:00:00Z", "time": "25:00:00Z", "date": "2026-02-30",
              "duration": "P", "uri": "http//x"}
    inactive = [name for name, bad in probes.items() if name not in checker.checkers or checker.conforms(bad, name)]
    if inactive:
        fail(f"jsonschema's format checkers for {', '.join(inactive)} are not active, so format errors would pass "
             f"unnoticed; install the extras with: {INSTALL}")
    return Draft202012Validator


def kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def set_at(document, path, value):
    """A deep copy of document with the value at path replaced (or removed when value is REMOVE)."""
    result = copy.deepcopy(document)
    if not path:
        return value
    parent = result
    for token in path[:-1]:
        parent = parent[token]
    if value is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


REMOVE = object()


def pointer(path):
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


class NearMisses:
    def __init__(self, schema, validator):
        self.root = schema
        self.validator = validator

    # --- which schemas apply where -------------------------------------------------------

    def resolve(self, reference):
        fragment = urllib.parse.unquote(reference[1:])
        target = self.root
        for token in [t.replace("~1", "/").replace("~0", "~") for t in fragment.split("/")[1:]]:
            target = target[int(token)] if isinstance(target, list) else target[token]
        return target

    def applicable(self, schema, instance, depth=0):
        """The schema objects that apply to this instance location, through $ref, allOf,
        the oneOf/anyOf alternatives it matches (or all, when none does) and if/then/else."""
        if not isinstance(schema, dict) or depth > 12:
            return []
        found = [schema]
        if "$ref" in schema:
            found += self.applicable(self.resolve(schema["$ref"]), instance, depth + 1)
        for part in schema.get("allOf", []):
            found += self.applicable(part, instance, depth + 1)
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword, [])
            matching = [b for b in branches if self.matches(b, instance)]
            for branch in matching or branches:
                found += self.applicable(branch, instance, depth + 1)
        if "if" in schema:
            chosen = schema.get("then") if self.matches(schema["if"], instance) else schema.get("else")
            if chosen is not None:
                found += self.applicable(chosen, instance, depth + 1)
        return found

    def matches(self, schema, instance):
        return self.validator.evolve(schema=schema).is_valid(instance)

    def child_schemas(self, schemas, key, instance_kind):
        children = []
        for schema in schemas:
            if instance_kind == "object":
                covered = False
                if key in schema.get("properties", {}):
                    children.append(schema["properties"][key])
                    covered = True
                for pattern, child in schema.get("patternProperties", {}).items():
                    if self.search(pattern, key):
                        children.append(child)
                        covered = True
                if not covered and isinstance(schema.get("additionalProperties"), dict):
                    children.append(schema["additionalProperties"])
            else:
                prefix = schema.get("prefixItems", [])
                if key < len(prefix):
                    children.append(prefix[key])
                elif isinstance(schema.get("items"), dict):
                    children.append(schema["items"])
        return children

    @staticmethod
    def search(pattern, text):
        import re
        try:
            return re.search(pattern, text) is not None
        except re.error:
            return False

    # --- mutations -------------------------------------------------------------------------

    def sites(self, value, schemas, path, out, depth=0):
        """Every location in an example with the schemas that apply there."""
        applicable = [s for schema in schemas for s in self.applicable(schema, value)]
        out.append((path, value, applicable))
        if depth > 10:
            return
        if isinstance(value, dict):
            for key, child in value.items():
                self.sites(child, self.child_schemas(applicable, key, "object"), path + [key], out, depth + 1)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                self.sites(child, self.child_schemas(applicable, index, "array"), path + [index], out, depth + 1)

    def mutations(self, example):
        sites = []
        self.sites(example, [self.root], [], sites)
        for path, value, schemas in sites:
            where = pointer(path) or "(root)"
            for replacement in WRONG_TYPES:
                if kind(replacement) != kind(value):
                    yield f"{where}: wrong type {kind(replacement)}", set_at(example, path, replacement)
            if isinstance(value, dict):
                for description, document in self.member_mutations(example, path, value, schemas):
                    yield f"{where}: {description}", document
            for schema in schemas:
                for description, replacement in self.value_mutations(value, schema):
                    yield f"{where}: {description}", set_at(example, path, replacement)
                for description, document in self.structure_mutations(example, path, value, schema):
                    yield f"{where}: {description}", document

    def member_mutations(self, example, path, value, schemas):
        """Drop each member (saying whether any applicable schema requires it), and add each
        declared but absent property with a null and with a plausible value."""
        required = {name for schema in schemas for name in schema.get("required", [])}
        for name in value:
            label = "required" if name in required else "optional"
            yield f"drop {label} '{name}'", set_at(example, path + [name], REMOVE)
        for schema in schemas:
            for name, property_schema in schema.get("properties", {}).items():
                if name in value:
                    continue
                yield f"add absent '{name}' as null", set_at(example, path, {**value, name: None})
                for plausible in self.plausible_values(property_schema):
                    yield f"add absent '{name}'", set_at(example, path, {**value, name: plausible})

    def plausible_values(self, schema):
        for part in self.applicable(schema, None):
            if "const" in part:
                yield part["const"]
            for allowed in part.get("enum", [])[:2]:
                yield allowed
            if part.get("format") in FORMAT_SAMPLES:
                yield FORMAT_SAMPLES[part["format"]][0]
            for keyword in ("minimum", "exclusiveMinimum", "maximum"):
                if keyword in part:
                    yield part[keyword]

    def value_mutations(self, value, schema):
        for constant in schema.get("enum", []) + ([schema["const"]] if "const" in schema else []):
            yield "an allowed value", constant
            for near in near_values(constant):
                yield f"near {canonical(constant)}", near
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if keyword in schema:
                    bound = schema[keyword]
                    for step in (-1, -0.5, 0, 0.5, 1):
                        yield f"{keyword} {bound} {step:+}", bound + step
            if "multipleOf" in schema:
                divisor = schema["multipleOf"]
                for candidate in (value + divisor / 2, value + divisor, divisor * 3, 0, -divisor):
                    quotient = candidate / divisor
                    exact = quotient == int(quotient)
                    clearly_not = abs(quotient - round(quotient)) > 0.01
                    if exact or clearly_not:
                        yield f"multipleOf {divisor}", candidate
        if isinstance(value, str):
            for keyword in ("minLength", "maxLength"):
                if keyword in schema:
                    length = schema[keyword]
                    for target in (length - 1, length, length + 1):
                        if target >= 0:
                            yield f"{keyword} {length}: {target} characters", (value + "a" * target)[:target]
                            yield f"{keyword} {length}: {target} CJK characters", "中" * target
                            yield f"{keyword} {length}: {target} emoji", "\U0001F600" * target
            if "pattern" in schema:
                for near in near_strings(value):
                    yield f"pattern {schema['pattern']}", near
            if schema.get("format") in FORMAT_SAMPLES:
                for sample in FORMAT_SAMPLES[schema["format"]]:
                    yield f"format {schema['format']}", sample

    def structure_mutations(self, example, path, value, schema):
        if isinstance(value, dict):
            yield "add an unknown property", set_at(example, path, {**value, "unexpectedProperty": 1})
            yield "empty object", set_at(example, path, {})
            for key in ("x-note", "a", "A1", "_", "1", "S_1", "ab", "x_y", "note"):
                for pattern in schema.get("patternProperties", {}):
                    if self.search(pattern, key) and key not in value:
                        yield f"pattern property {key}", set_at(example, path, {**value, key: "x"})
                        yield f"pattern property {key} number", set_at(example, path, {**value, key: 1})
            if "minProperties" in schema:
                kept = dict(list(value.items())[:max(0, schema["minProperties"] - 1)])
                yield "below minProperties", set_at(example, path, kept)
            if "maxProperties" in schema:
                grown = dict(value)
                for index in range(schema["maxProperties"] + 1 - len(value)):
                    grown[f"extra{index}"] = index
                yield "above maxProperties", set_at(example, path, grown)
            yield from self.discriminator_swaps(example, path, value, schema)
        if isinstance(value, list):
            yield "empty array", set_at(example, path, [])
            if value:
                yield "drop the last item", set_at(example, path, value[:-1])
                yield "repeat the first item", set_at(example, path, value + [value[0]])
                yield "add a null item", set_at(example, path, value + [None])
            for keyword in ("minItems", "maxItems"):
                if keyword in schema and value:
                    for target in (schema[keyword] - 1, schema[keyword], schema[keyword] + 1):
                        if target >= 0:
                            resized = (value * (target // len(value) + 1))[:target]
                            yield f"{keyword} {schema[keyword]}: {target} items", set_at(example, path, resized)

    def discriminator_swaps(self, example, path, value, schema):
        """Set each const-fixed property to the value another oneOf/anyOf alternative wants."""
        for keyword in ("oneOf", "anyOf"):
            for branch in schema.get(keyword, []):
                for part in self.applicable(branch, value):
                    for name, property_schema in part.get("properties", {}).items():
                        for fixed in self.fixed_values(property_schema):
                            if name in value and value[name] != fixed:
                                yield f"{keyword} discriminator {name}={canonical(fixed)}", set_at(example, path + [name], fixed)

    def fixed_values(self, schema):
        for part in self.applicable(schema, None):
            if "const" in part:
                yield part["const"]
            elif len(part.get("enum", [])) == 1:
                yield part["enum"][0]


def near_values(value):
    if isinstance(value, str):
        yield from near_strings(value)
    elif isinstance(value, bool):
        yield not value
    elif isinstance(value, (int, float)):
        yield value + 1
        yield value - 1
        yield value + 0.5
        yield str(value)
    elif isinstance(value, list):
        yield value[:-1]
        yield value + [None]
    elif isinstance(value, dict):
        yield {key: item for key, item in list(value.items())[:-1]}


def near_strings(text):
    candidates = [text[:-1], text + "x", " " + text, text + " ", text.upper(), text.lower(), "", text[1:],
                  text.replace("-", "_", 1), "".join("x" if c.isdigit() else c for c in text[:1]) + text[1:],
                  "".join("1" if c.isalpha() else c for c in text[:1]) + text[1:]]
    for candidate in candidates:
        if candidate != text:
            yield candidate


def main(paths):
    if not paths:
        fail("usage: near_misses.py SCHEMA.json...")
    Validator = validator_class()
    for path in paths:
        with open(path, encoding="utf-8") as file:
            schema = json.load(file)
        try:
            Validator.check_schema(schema)
        except Exception as error:  # the schema itself is not valid draft 2020-12
            fail(f"{path} is not a valid draft 2020-12 schema: {error}")
        validator = Validator(schema, format_checker=Validator.FORMAT_CHECKER)
        examples = schema.get("examples", []) if isinstance(schema, dict) else []
        instances = {}
        for index, example in enumerate(examples):
            instances.setdefault(canonical(example), (f"example {index}", example))
        generated = {}
        engine = NearMisses(schema, validator)
        for index, example in enumerate(examples):
            for description, instance in engine.mutations(example):
                key = canonical(instance)
                if key not in instances and key not in generated:
                    generated[key] = (f"example {index}, {description}", instance)
        chosen = list(generated.values())
        budget = max(0, MAXIMUM_PER_SCHEMA - len(instances))
        if len(chosen) > budget:
            chosen = random.Random(f"{SEED}:{path.rsplit('/', 1)[-1]}").sample(chosen, budget)
        for description, instance in list(instances.values()) + chosen:
            line = {"schema": path, "instance": instance, "valid": validator.is_valid(instance), "mutation": description}
            print(json.dumps(line, ensure_ascii=False, allow_nan=False))


if __name__ == "__main__":
    main(sys.argv[1:])
