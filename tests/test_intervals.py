from scanner.intervals import (
    ALL_PORTS,
    describe_ports,
    intersect,
    normalize,
    port_range,
    ports_text,
    subtract,
    union,
)


def test_normalize_merges_overlapping_and_adjacent():
    assert normalize([(5, 9), (1, 3), (4, 4), (20, 30), (25, 26)]) == ((1, 9), (20, 30))


def test_union_intersect_subtract_exact():
    a = ((1, 10), (20, 30))
    b = ((5, 25),)
    assert union(a, b) == ((1, 30),)
    assert intersect(a, b) == ((5, 10), (20, 25))
    assert subtract(a, b) == ((1, 4), (26, 30))
    assert subtract(((1, 10),), ((1, 10),)) == ()
    assert subtract(((1, 10),), ((3, 3), (5, 6))) == ((1, 2), (4, 4), (7, 10))


def test_protocols_do_not_mix():
    tcp = port_range("TCP", 53, 53)
    udp = port_range("UDP", 53, 53)
    assert intersect(tcp, udp) == ()
    assert describe_ports(union(tcp, udp)) == {"TCP": ["53"], "UDP": ["53"]}


def test_describe_all_and_ranges():
    assert describe_ports(ALL_PORTS) == {"TCP": "all", "UDP": "all", "SCTP": "all"}
    assert ports_text(ALL_PORTS) == "all"
    s = union(port_range("TCP", 80, 80), port_range("TCP", 8000, 8100))
    assert describe_ports(s) == {"TCP": ["80", "8000-8100"]}
    assert ports_text(()) == "none"
