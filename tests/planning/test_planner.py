"""The pure planner (spec §7) with hand-built requests: no database.

Sites are numbered so that plain id order (the planner's last tie-breaker) would give a different
answer than the sort key under test: each test proves that its key decides."""


from planning.planner import Line, Plan, PlanRequest, RuleSpec, Site, plan

A, B, C = Line(1, "A", 1), Line(2, "B", 1), Line(3, "C", 1)
ISTANBUL = (41.0082, 28.9784)
ANKARA = (39.9334, 32.8597)
IZMIR = (38.4237, 27.1428)
BURSA = (40.1885, 29.0610)


def request(lines, sites, stock, *, rules=None, **extra) -> PlanRequest:
    """``stock`` maps site id -> {sku: available units}."""
    available = {(site_id, sku): n for site_id, skus in stock.items() for sku, n in skus.items()}
    return PlanRequest(lines=list(lines), rules=[RuleSpec()] if rules is None else rules,
                       sites={s.id: s for s in sites}, available=available, **extra)


def layout(result: Plan) -> list[tuple[int, list[int]]]:
    """(location, line keys) per package, in the order the planner created them."""
    return [(p.location_id, [line.key for line in p.lines]) for p in result.packages]


def unplaced(result: Plan) -> list[int]:
    return [line.key for line in result.unplaced]


def transfers(result: Plan) -> dict[int, dict[int, list[int]]]:
    """package location -> {source location: line keys}."""
    return {p.location_id: {source: [line.key for line in leg.lines] for source, leg in p.transfers.items()}
            for p in result.packages if p.transfers}


# -- one location or a split -----------------------------------------------------------------------
def test_a_single_location_taking_every_line_wins_over_a_split_even_at_lower_priority():
    sites = [Site(1, priority=10), Site(2, priority=1)]
    stock = {1: {"A": 5}, 2: {"A": 5, "B": 5}}

    result = plan(request([A, B], sites, stock))

    assert layout(result) == [(2, [1, 2])]
    assert unplaced(result) == []
    assert transfers(result) == {}


def test_the_single_location_is_the_first_in_sort_order_among_those_taking_everything():
    sites = [Site(1, priority=1), Site(2, priority=7), Site(3, priority=3)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 1}, 3: {"A": 1, "B": 1}}

    assert layout(plan(request([A, B], sites, stock))) == [(2, [1, 2])]


def test_lines_of_one_sku_are_added_up_before_a_location_is_found_to_take_them_all():
    first, second = Line(1, "A", 2), Line(2, "A", 2)
    sites = [Site(1, priority=10), Site(2, priority=1)]
    stock = {1: {"A": 3}, 2: {"A": 4}}

    assert layout(plan(request([first, second], sites, stock))) == [(2, [1, 2])]


def test_a_split_uses_stock_already_given_to_earlier_lines():
    first, second = Line(1, "A", 2), Line(2, "A", 2)
    sites = [Site(1, priority=10), Site(2, priority=1)]
    stock = {1: {"A": 3}, 2: {"A": 2}}

    assert layout(plan(request([first, second], sites, stock))) == [(1, [1]), (2, [2])]


# -- greedy split: one test per sort key -----------------------------------------------------------
def test_greedy_split_follows_priority_higher_first():
    # id order would give [(1, [B, C]), (2, [A])]
    sites = [Site(1, priority=1), Site(2, priority=10)]
    stock = {1: {"B": 1, "C": 1}, 2: {"A": 1, "B": 1}}

    result = plan(request([A, B, C], sites, stock, rules=[RuleSpec(sort_keys=("priority",))]))

    assert layout(result) == [(2, [1, 2]), (1, [3])]


def test_greedy_split_follows_stock_more_remaining_lines_first():
    # id order would give three packages: [(1, [A]), (2, [B]), (3, [C])]
    sites = [Site(1), Site(2), Site(3)]
    stock = {1: {"A": 1}, 2: {"A": 1, "B": 1}, 3: {"C": 1}}

    result = plan(request([A, B, C], sites, stock, rules=[RuleSpec(sort_keys=("stock",))]))

    assert layout(result) == [(2, [1, 2]), (3, [3])]


def test_greedy_split_follows_available_quota_more_first_and_no_max_quota_as_the_most():
    # free units: site 1 -> 1, site 2 -> 6, site 3 -> unlimited; id order would put A at site 1
    sites = [Site(1, max_quota=10, quota=9), Site(2, max_quota=10, quota=4), Site(3, max_quota=None)]
    stock = {1: {"A": 1}, 2: {"A": 1}, 3: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(sort_keys=("available_quota",))]))

    assert layout(result) == [(3, [2]), (2, [1])]


def test_greedy_split_follows_distance_nearer_first_and_unknown_coordinates_last():
    sites = [Site(1),  # no coordinates
             Site(2, latitude=ANKARA[0], longitude=ANKARA[1]),
             Site(3, latitude=BURSA[0], longitude=BURSA[1]),
             Site(4, latitude=IZMIR[0], longitude=IZMIR[1])]
    stock = {1: {"A": 1}, 2: {"A": 1}, 3: {"A": 1}, 4: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(sort_keys=("distance",))],
                          order_point=ISTANBUL))

    assert layout(result) == [(3, [1]), (4, [2])]


def test_distance_without_the_orders_coordinates_falls_back_to_id_order():
    sites = [Site(1, latitude=ANKARA[0], longitude=ANKARA[1]),
             Site(2, latitude=ISTANBUL[0], longitude=ISTANBUL[1]), Site(3)]
    stock = {1: {"A": 1}, 2: {"A": 1}, 3: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(sort_keys=("distance",))]))

    assert layout(result) == [(1, [1]), (3, [2])]


def test_a_later_sort_key_breaks_ties_of_an_earlier_one():
    sites = [Site(1, priority=5, latitude=ANKARA[0], longitude=ANKARA[1]),
             Site(2, priority=5, latitude=BURSA[0], longitude=BURSA[1]),
             Site(3, priority=1, latitude=ISTANBUL[0], longitude=ISTANBUL[1]),
             Site(4, priority=0)]
    stock = {1: {"A": 1}, 2: {"A": 1}, 3: {"A": 1}, 4: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(sort_keys=("priority", "distance"))],
                          order_point=ISTANBUL))

    assert layout(result) == [(2, [1]), (4, [2])]


# -- filters ---------------------------------------------------------------------------------------
def test_include_limits_the_rule_to_its_locations():
    sites = [Site(1, priority=10), Site(2), Site(3)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1}, 3: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(include=frozenset({2, 3}))]))

    assert layout(result) == [(2, [1]), (3, [2])]


def test_except_removes_locations_from_the_rule():
    sites = [Site(1, priority=10), Site(2), Site(3)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1}, 3: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(exclude=frozenset({1}))]))

    assert layout(result) == [(2, [1]), (3, [2])]


def test_location_type_keeps_only_locations_of_that_type():
    sites = [Site(1, priority=10, location_type="store"), Site(2, location_type="warehouse"),
             Site(3, location_type="warehouse")]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1}, 3: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(location_type="warehouse")]))

    assert layout(result) == [(2, [1]), (3, [2])]


def test_same_city_keeps_only_locations_in_the_orders_city_ignoring_case():
    sites = [Site(1, priority=10, city="Ankara"), Site(2, city="ISTANBUL"), Site(3, city="istanbul")]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1}, 3: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(same_city=True)], order_city="Istanbul"))

    assert layout(result) == [(2, [1]), (3, [2])]


def test_same_city_without_the_orders_city_places_nothing():
    sites = [Site(1, city="Istanbul")]

    result = plan(request([A], sites, {1: {"A": 1}}, rules=[RuleSpec(same_city=True)], order_city=""))

    assert (layout(result), unplaced(result)) == ([], [1])


# -- SELECT_BY_QUOTA -------------------------------------------------------------------------------
def test_select_by_quota_skips_a_location_without_available_quota():
    sites = [Site(1, priority=10, max_quota=3, quota=3), Site(2, max_quota=3, quota=2)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(select_by_quota=True)]))

    assert layout(result) == [(2, [1, 2])]


def test_without_select_by_quota_a_full_location_still_receives_packages():
    sites = [Site(1, priority=10, max_quota=3, quota=3), Site(2, max_quota=3, quota=2)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(select_by_quota=False)]))

    assert layout(result) == [(1, [1, 2])]


def test_select_by_quota_treats_a_location_without_max_quota_as_unlimited():
    sites = [Site(1, priority=10, max_quota=None, quota=500), Site(2, max_quota=100, quota=0)]
    stock = {1: {"A": 1}, 2: {"A": 1}}

    result = plan(request([A], sites, stock, rules=[RuleSpec(select_by_quota=True)]))

    assert layout(result) == [(1, [1])]


def test_select_by_quota_skips_a_location_found_full_when_applying():
    sites = [Site(1, priority=10, max_quota=5, quota=0), Site(2, max_quota=5, quota=0)]
    stock = {1: {"A": 1}, 2: {"A": 1}}

    result = plan(request([A], sites, stock, rules=[RuleSpec(select_by_quota=True)],
                          full_sites=frozenset({1})))

    assert layout(result) == [(2, [1])]


def test_select_by_quota_one_free_unit_takes_one_package_holding_every_line_placed_there():
    # site 1 has one unit of quota left: the greedy split places A and C there in ONE package
    sites = [Site(1, priority=10, max_quota=1, quota=0), Site(2, max_quota=1, quota=0)]
    stock = {1: {"A": 1, "C": 1}, 2: {"B": 1}}

    result = plan(request([A, B, C], sites, stock, rules=[RuleSpec(select_by_quota=True)]))

    assert layout(result) == [(1, [1, 3]), (2, [2])]


def test_select_by_quota_the_plans_own_package_at_a_location_takes_no_second_unit_of_its_quota():
    # rule 1 uses site 1's last free unit for A; rule 2 still packs B there (by transfer), in the
    # same package, instead of treating site 1 as full or opening a second package
    sites = [Site(1, priority=10, max_quota=1, quota=0), Site(2, max_quota=9, quota=0),
             Site(3, location_type="warehouse", is_transfer_center=True)]
    stock = {1: {"A": 1}, 3: {"B": 1}}
    rules = [RuleSpec(include=frozenset({1}), select_by_quota=True),
             RuleSpec(include=frozenset({1, 2}), select_by_quota=True, transferable=True)]

    result = plan(request([A, B], sites, stock, rules=rules))

    assert layout(result) == [(1, [1, 2])]
    assert transfers(result) == {1: {3: [2]}}


def test_select_by_quota_a_full_location_is_never_given_a_new_package_even_when_it_alone_has_stock():
    sites = [Site(1, priority=10, max_quota=2, quota=2)]

    result = plan(request([A], sites, {1: {"A": 1}}, rules=[RuleSpec(select_by_quota=True)]))

    assert (layout(result), unplaced(result)) == ([], [1])


# -- rules in order --------------------------------------------------------------------------------
def test_rules_are_tried_in_order_and_a_later_rule_sees_only_the_remaining_lines():
    # site 2 could take both lines, but the first rule already placed A at site 1
    sites = [Site(1), Site(2)]
    stock = {1: {"A": 1}, 2: {"A": 1, "B": 1}}
    rules = [RuleSpec(include=frozenset({1})), RuleSpec(include=frozenset({2}))]

    result = plan(request([A, B], sites, stock, rules=rules))

    assert layout(result) == [(1, [1]), (2, [2])]


def test_a_later_rule_is_not_used_when_an_earlier_one_placed_everything():
    sites = [Site(1), Site(2, priority=10)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 1}}
    rules = [RuleSpec(include=frozenset({1})), RuleSpec()]

    assert layout(plan(request([A, B], sites, stock, rules=rules))) == [(1, [1, 2])]


def test_a_later_rule_finds_a_single_location_for_the_remaining_lines():
    # after rule 1 placed A at site 1, the remaining B and C fit at site 3 alone (not split 2 + 3)
    sites = [Site(1), Site(2, priority=10), Site(3)]
    stock = {1: {"A": 1}, 2: {"B": 1}, 3: {"B": 1, "C": 1}}
    rules = [RuleSpec(include=frozenset({1})), RuleSpec(exclude=frozenset({1}))]

    assert layout(plan(request([A, B, C], sites, stock, rules=rules))) == [(1, [1]), (3, [2, 3])]


def test_a_rule_whose_lines_fit_a_package_already_planned_adds_them_to_it():
    sites = [Site(1, priority=10), Site(2)]
    stock = {1: {"A": 1, "B": 1}, 2: {"C": 1}}
    rules = [RuleSpec(include=frozenset({1})), RuleSpec()]

    result = plan(request([A, B, C], sites, stock, rules=rules))

    assert layout(result) == [(1, [1, 2]), (2, [3])]


# -- per-line exclusions ---------------------------------------------------------------------------
def test_a_line_excluded_from_a_location_goes_elsewhere_with_the_others_when_one_location_takes_all():
    sites = [Site(1, priority=10), Site(2)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 1}}

    result = plan(request([A, B], sites, stock, excluded={1: frozenset({1})}))

    assert layout(result) == [(2, [1, 2])]


def test_a_line_excluded_from_a_location_is_split_off_while_other_lines_stay_there():
    sites = [Site(1, priority=10), Site(2)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1}}

    result = plan(request([A, B], sites, stock, excluded={1: frozenset({1})}))

    assert layout(result) == [(1, [2]), (2, [1])]


def test_a_line_excluded_everywhere_it_has_stock_is_unplaced():
    sites = [Site(1), Site(2)]
    stock = {1: {"A": 1, "B": 1}, 2: {"A": 1}}

    result = plan(request([A, B], sites, stock, excluded={1: frozenset({1, 2})}))

    assert (layout(result), unplaced(result)) == ([(1, [2])], [1])


# -- transferable rules ----------------------------------------------------------------------------
def test_a_transferable_rule_brings_a_missing_line_from_a_transfer_center():
    sites = [Site(1, priority=10, location_type="store"),
             Site(2, location_type="warehouse", is_transfer_center=True)]
    stock = {1: {"A": 1}, 2: {"B": 1}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A, B], sites, stock, rules=[rule]))

    assert layout(result) == [(1, [1, 2])]
    assert transfers(result) == {1: {2: [2]}}
    assert result.packages[0].needs_transfer is True
    assert unplaced(result) == []


def test_without_transferable_the_line_missing_at_the_packaging_location_is_unplaced():
    sites = [Site(1, priority=10, location_type="store"),
             Site(2, location_type="warehouse", is_transfer_center=True)]
    stock = {1: {"A": 1}, 2: {"B": 1}}

    result = plan(request([A, B], sites, stock, rules=[RuleSpec(location_type="store")]))

    assert (layout(result), transfers(result), unplaced(result)) == ([(1, [1])], {}, [2])


def test_transfers_come_only_from_transfer_centers_with_enough_stock_higher_priority_first():
    sites = [Site(1, priority=10, location_type="store"),
             Site(2, priority=9, location_type="warehouse"),                      # not a center
             Site(3, priority=1, location_type="warehouse", is_transfer_center=True),
             Site(4, priority=5, location_type="warehouse", is_transfer_center=True),  # too few
             Site(5, priority=3, location_type="warehouse", is_transfer_center=True)]
    line = Line(2, "B", 2)
    stock = {1: {"A": 1}, 2: {"B": 9}, 3: {"B": 2}, 4: {"B": 1}, 5: {"B": 2}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A, line], sites, stock, rules=[rule]))

    assert transfers(result) == {1: {5: [2]}}


def test_a_transfer_never_comes_from_a_center_excluded_for_that_line():
    sites = [Site(1, priority=10, location_type="store"),
             Site(2, priority=9, location_type="warehouse", is_transfer_center=True),
             Site(3, priority=1, location_type="warehouse", is_transfer_center=True)]
    stock = {1: {"A": 1}, 2: {"B": 1}, 3: {"B": 1}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A, B], sites, stock, rules=[rule], excluded={2: frozenset({2})}))

    assert transfers(result) == {1: {3: [2]}}


def test_a_line_whose_only_center_is_excluded_for_it_stays_unplaced():
    sites = [Site(1, priority=10, location_type="store"),
             Site(2, location_type="warehouse", is_transfer_center=True)]
    stock = {1: {"A": 1}, 2: {"B": 1}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A, B], sites, stock, rules=[rule], excluded={2: frozenset({2})}))

    assert (layout(result), transfers(result), unplaced(result)) == ([(1, [1])], {}, [2])


def test_transferred_units_are_taken_from_the_centers_stock_for_later_lines():
    second_b = Line(3, "B", 1)
    sites = [Site(1, priority=10, location_type="store"),
             Site(2, priority=5, location_type="warehouse", is_transfer_center=True),
             Site(3, priority=1, location_type="warehouse", is_transfer_center=True)]
    stock = {1: {"A": 1}, 2: {"B": 1}, 3: {"B": 1}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A, B, second_b], sites, stock, rules=[rule]))

    assert layout(result) == [(1, [1, 2, 3])]
    assert transfers(result) == {1: {2: [2], 3: [3]}}


def test_a_transferable_rule_with_no_stock_at_any_candidate_packs_at_its_best_candidate():
    sites = [Site(1, priority=1, location_type="store"), Site(2, priority=10, location_type="store"),
             Site(3, location_type="warehouse", is_transfer_center=True)]
    stock = {3: {"A": 1}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A], sites, stock, rules=[rule]))

    assert (layout(result), transfers(result)) == ([(2, [1])], {2: {3: [1]}})


def test_a_line_excluded_at_the_best_candidate_is_transferred_into_the_next_one():
    sites = [Site(1, priority=10, location_type="store"), Site(2, priority=5, location_type="store"),
             Site(3, location_type="warehouse", is_transfer_center=True)]
    stock = {3: {"A": 1}}
    rule = RuleSpec(location_type="store", transferable=True)

    result = plan(request([A], sites, stock, rules=[rule], excluded={1: frozenset({1})}))

    assert (layout(result), transfers(result), unplaced(result)) == ([(2, [1])], {2: {3: [1]}}, [])


# -- unplaced --------------------------------------------------------------------------------------
def test_lines_no_rule_can_place_are_returned_unplaced():
    sites = [Site(1), Site(2)]
    big = Line(3, "C", 5)
    stock = {1: {"A": 1, "C": 4}, 2: {"C": 4}}

    result = plan(request([A, B, big], sites, stock))

    assert (layout(result), unplaced(result)) == ([(1, [1])], [2, 3])


def test_no_rules_place_nothing():
    result = plan(request([A], [Site(1)], {1: {"A": 1}}, rules=[]))

    assert isinstance(result, Plan)
    assert (layout(result), unplaced(result)) == ([], [1])


def test_a_transferable_rule_never_sources_from_its_excluded_locations():
    store = Site(id=1, priority=10)
    excluded_center = Site(id=2, priority=9, is_transfer_center=True)
    other_center = Site(id=3, priority=1, is_transfer_center=True)
    request = PlanRequest(
        lines=[Line(key=1, sku="A", quantity=1)],
        rules=[RuleSpec(include=frozenset({1}), exclude=frozenset({2}), transferable=True)],
        sites={s.id: s for s in (store, excluded_center, other_center)},
        available={(2, "A"): 5, (3, "A"): 5})

    result = plan(request)

    assert [(p.location_id, sorted(p.transfers)) for p in result.packages] == [(1, [3])]
    assert result.unplaced == []
