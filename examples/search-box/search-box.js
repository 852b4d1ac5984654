/*
 * The timkiem search box: plain JavaScript, no build step, no dependency.
 *
 * It reads its settings from the element with id "timkiem":
 *   data-api       the API's base URL ("" or absent: this page's origin)
 *   data-per-page  results per page (1..100, default 10)
 *
 * Every text the API returns is put into the page as text (textContent),
 * except a hit's "snippet": escaped HTML whose only markup is <mark>. It is
 * parsed into an inert document and rebuilt from its text and <mark>
 * elements only, so nothing else from the API can ever become markup.
 *
 * Features the API may not have (suggestions, month facets, did-you-mean,
 * total_pages) are used when its answers carry them, and left out otherwise.
 */
(function () {
  "use strict";

  var SUGGEST_DELAY_MS = 120;
  var SEARCH_DELAY_MS = 250;
  var SUGGEST_LIMIT = 8;
  var MAX_RESULT_WINDOW = 1000; // the API's default TIMKIEM_MAX_RESULT_WINDOW
  var REASONS = { telex: "kiểu gõ Telex", vni: "kiểu gõ VNI", spelling: "sửa lỗi chính tả" };
  var NUMBER = new Intl.NumberFormat("vi-VN");

  function init(root) {
    var input = root.querySelector('[role="combobox"]');
    var listbox = root.querySelector('[role="listbox"]');
    var form = root.querySelector('[data-tk="form"]');
    var statusLine = root.querySelector('[data-tk="status"]');
    var rewrittenLine = root.querySelector('[data-tk="rewritten"]');
    var didYouMean = root.querySelector('[data-tk="didyoumean"]');
    var hitsList = root.querySelector('[data-tk="hits"]');
    var pagesNav = root.querySelector('[data-tk="pages"]');
    var toolbar = root.querySelector('[data-tk="toolbar"]');
    var sortSelect = root.querySelector('[data-tk="sort"]');
    var facets = {
      year: root.querySelector('[data-facet="year"]'),
      month: root.querySelector('[data-facet="month"]'),
      category: root.querySelector('[data-facet="category"]'),
    };

    var apiBase = (root.getAttribute("data-api") || "").replace(/\/+$/, "");
    var perPage = clamp(parseInt(root.getAttribute("data-per-page") || "10", 10) || 10, 1, 100);

    var state = { q: "", year: "", month: "", categories: [], sort: "relevance", page: 1 };
    var suggestSupported = true;
    var manyCategories = null; // unknown until an answer says whether it echoes "applied"
    // Each category's count for the query and dates whatever categories are
    // ticked (an answer counts only the ticked ones), and what they are for.
    var categoryCounts = { key: null, counts: {} };
    var lastFacets = {};
    var focusResults = false; // after paging, keyboard focus moves to the new results
    var relatedSupported = null; // whether the API has /articles/{id}/related; null: not asked
    var lastHits = [];
    var options = []; // the suggestions shown: [{text, count}]
    var active = -1; // index of the option with visual focus, -1: none
    var suggestTimer = 0;
    var searchTimer = 0;
    var suggestSeq = 0;
    var searchSeq = 0;
    var searchAbort = null;
    var lastSearched = null;

    // -- talking to the API ------------------------------------------------------

    function apiUrl(path, params) {
      var url = new URL(apiBase + path, window.location.href);
      params.forEach(function (pair) {
        url.searchParams.append(pair[0], pair[1]);
      });
      return url.toString();
    }

    function getJson(url, signal) {
      return fetch(url, { headers: { Accept: "application/json" }, signal: signal }).then(
        function (response) {
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (body) {
              return { status: response.status, body: body };
            });
        }
      );
    }

    function searchParams(withCategories) {
      var params = [];
      if (state.q) params.push(["q", state.q]);
      var range = state.month || state.year;
      if (range) {
        params.push(["from", range]);
        params.push(["to", range]);
      }
      if (!withCategories) return params;
      state.categories.forEach(function (name) {
        params.push(["category", name]);
      });
      if (state.sort !== "relevance") params.push(["sort", state.sort]);
      if (state.page > 1) params.push(["page", String(state.page)]);
      params.push(["per_page", String(perPage)]);
      return params;
    }

    function countsKey() {
      return JSON.stringify(searchParams(false));
    }

    /* The category counts without the category filter, when the answer had only
       the ticked categories': one more small request. */
    function fetchCategoryCounts() {
      var key = countsKey();
      var seq = searchSeq;
      getJson(apiUrl("/search", searchParams(false).concat([["per_page", "1"]])))
        .then(function (answer) {
          if (seq !== searchSeq || answer.status !== 200 || !answer.body) return;
          categoryCounts = { key: key, counts: (answer.body.facets || {}).category || {} };
          renderFacets(lastFacets);
        })
        .catch(function () {});
    }

    // -- suggestions (ARIA 1.2 combobox with a listbox popup) --------------------

    function isOpen() {
      return input.getAttribute("aria-expanded") === "true";
    }

    function openList() {
      if (!options.length) return;
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function closeList() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function setActive(index) {
      var items = listbox.children;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    /* Show ``list``, the suggestions for the text ``typed`` (kept in data-for). */
    function renderSuggestions(list, typed) {
      options = list;
      listbox.textContent = "";
      listbox.setAttribute("data-for", typed || "");
      active = -1;
      input.removeAttribute("aria-activedescendant");
      list.forEach(function (option, i) {
        var item = document.createElement("li");
        item.id = "tk-option-" + i;
        item.className = "tk-option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        var text = document.createElement("span");
        text.className = "tk-option-text";
        text.textContent = option.text;
        item.appendChild(text);
        if (typeof option.count === "number") {
          var count = document.createElement("span");
          count.className = "tk-option-count";
          count.textContent = NUMBER.format(option.count);
          item.appendChild(count);
        }
        // mousedown, not click: the input keeps its focus.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(i);
        });
        listbox.appendChild(item);
      });
      if (list.length && document.activeElement === input) openList();
      else closeList();
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      var seq = ++suggestSeq;
      if (!suggestSupported || !q) {
        renderSuggestions([]);
        return;
      }
      getJson(apiUrl("/suggest", [["q", q], ["limit", String(SUGGEST_LIMIT)]]))
        .then(function (answer) {
          if (answer.status === 404) suggestSupported = false; // an API without /suggest
          if (seq !== suggestSeq) return;
          var list = answer.status === 200 && answer.body ? answer.body.suggestions : null;
          renderSuggestions(
            Array.isArray(list)
              ? list.filter(function (s) {
                  return s && typeof s.text === "string" && s.text;
                })
              : [],
            q
          );
        })
        .catch(function () {
          if (seq === suggestSeq) renderSuggestions([]);
        });
    }

    function choose(index) {
      var option = options[index];
      if (option) searchFor(option.text);
    }

    /* Put ``text`` in the box and search it now (a suggestion, the did-you-mean). */
    function searchFor(text) {
      input.value = text;
      clearTimeout(suggestTimer);
      suggestSeq++; // an answer still on its way is for the old text
      renderSuggestions([]); // they were for the text typed before
      searchNow();
    }

    // -- searching ------------------------------------------------------------------

    function newQuery() {
      state.q = input.value.trim();
      state.page = 1;
    }

    function searchNow() {
      clearTimeout(searchTimer);
      newQuery();
      runSearch();
    }

    function runSearch() {
      var params = searchParams(true);
      var key = JSON.stringify(params);
      if (key === lastSearched) return;
      lastSearched = key;
      saveInLocation();
      var seq = ++searchSeq;
      if (searchAbort) searchAbort.abort();
      searchAbort = typeof AbortController === "function" ? new AbortController() : null;
      root.setAttribute("aria-busy", "true");
      getJson(apiUrl("/search", params), searchAbort ? searchAbort.signal : undefined)
        .then(function (answer) {
          if (seq !== searchSeq) return;
          root.removeAttribute("aria-busy");
          if (answer.status === 200 && answer.body) render(answer.body);
          else showError(answer.body, answer.status);
        })
        .catch(function (error) {
          if (seq !== searchSeq || (error && error.name === "AbortError")) return;
          root.removeAttribute("aria-busy");
          lastSearched = null;
          showError(null, 0);
        });
    }

    function showError(body, status) {
      var message =
        body && body.error && body.error.message
          ? body.error.message
          : status
            ? "máy chủ trả lời mã " + status
            : "không kết nối được với máy chủ tìm kiếm";
      clear(hitsList);
      pagesNav.hidden = true;
      rewrittenLine.hidden = true;
      didYouMean.hidden = true;
      statusLine.textContent = "Không tìm được: " + message;
      lastSearched = null;
    }

    // -- rendering an answer --------------------------------------------------------

    function render(body) {
      if (manyCategories === null) manyCategories = !!(body.applied && "category" in body.applied);
      var total = typeof body.total === "number" ? body.total : 0;
      var pages = totalPages(body, total);
      var shownQuery = body.rewritten && body.rewritten.to ? body.rewritten.to : state.q;
      statusLine.textContent =
        (total === 0
          ? "Không tìm thấy bài viết nào"
          : "Tìm thấy " + NUMBER.format(total) + " bài viết") +
        (shownQuery ? " cho “" + shownQuery + "”" : "") +
        (pages > 1 ? ", trang " + state.page + "/" + NUMBER.format(pages) : "") +
        ".";
      renderRewritten(body.rewritten);
      renderDidYouMean(body.suggestion);
      renderHits(Array.isArray(body.hits) ? body.hits : []);
      lastFacets = body.facets || {};
      if (!state.categories.length) {
        categoryCounts = { key: countsKey(), counts: lastFacets.category || {} };
      } else if (categoryCounts.key !== countsKey()) {
        fetchCategoryCounts();
      }
      renderFacets(lastFacets);
      renderPages(pages);
      toolbar.hidden = false;
      if (focusResults) {
        focusResults = false;
        hitsList.focus();
      }
      sortSelect.value = state.sort;
    }

    function totalPages(body, total) {
      if (typeof body.total_pages === "number") return body.total_pages;
      var reachable = Math.min(total, Math.floor(MAX_RESULT_WINDOW / perPage) * perPage);
      return Math.max(1, Math.ceil(reachable / perPage));
    }

    function renderRewritten(rewritten) {
      if (!rewritten || !rewritten.to) {
        rewrittenLine.hidden = true;
        return;
      }
      var why = REASONS[rewritten.reason] ? " (" + REASONS[rewritten.reason] + ")" : "";
      rewrittenLine.textContent =
        "Đã tìm “" + rewritten.to + "” thay cho “" + (rewritten.from || state.q) + "”" + why + ".";
      rewrittenLine.hidden = false;
    }

    function renderDidYouMean(suggestion) {
      clear(didYouMean);
      if (!suggestion || typeof suggestion.q !== "string" || !suggestion.q) {
        didYouMean.hidden = true;
        return;
      }
      didYouMean.appendChild(document.createTextNode("Có phải bạn muốn tìm: "));
      var link = document.createElement("a");
      link.className = "tk-didyoumean-link";
      link.href = "?" + new URLSearchParams({ q: suggestion.q }).toString();
      link.textContent = suggestion.q;
      link.addEventListener("click", function (event) {
        event.preventDefault();
        searchFor(suggestion.q);
        input.focus();
      });
      didYouMean.appendChild(link);
      if (typeof suggestion.total === "number") {
        didYouMean.appendChild(
          document.createTextNode(" (" + NUMBER.format(suggestion.total) + " bài viết)")
        );
      }
      didYouMean.appendChild(document.createTextNode("?"));
      didYouMean.hidden = false;
    }

    function renderHits(hits) {
      lastHits = hits;
      clear(hitsList);
      hitsList.start = (state.page - 1) * perPage + 1;
      hits.forEach(function (hit) {
        var item = document.createElement("li");
        item.className = "tk-hit";
        var heading = document.createElement("h3");
        heading.className = "tk-hit-title";
        var href = safeUrl(hit.url);
        var title = href ? document.createElement("a") : document.createElement("span");
        if (href) title.href = href;
        title.textContent = hit.title || hit.id || "";
        heading.appendChild(title);
        item.appendChild(heading);

        var meta = document.createElement("p");
        meta.className = "tk-hit-meta";
        if (hit.date) {
          var time = document.createElement("time");
          time.dateTime = String(hit.date);
          time.textContent = dayOf(String(hit.date));
          meta.appendChild(time);
        }
        [hit.category, hit.author].forEach(function (part) {
          if (!part) return;
          var span = document.createElement("span");
          span.textContent = String(part);
          meta.appendChild(span);
        });
        if (meta.childNodes.length) item.appendChild(meta);

        if (hit.snippet) {
          var snippet = document.createElement("p");
          snippet.className = "tk-hit-snippet";
          appendSnippet(snippet, String(hit.snippet));
          item.appendChild(snippet);
        }
        if (relatedSupported) item.appendChild(relatedToggle(hit, item));
        hitsList.appendChild(item);
      });
      if (relatedSupported === null && hits.length) probeRelated(hits[0].id);
    }

    // -- related articles ("Tin liên quan"), where the API has them -------------------

    function relatedUrl(id, limit) {
      return apiUrl("/articles/" + encodeURIComponent(id) + "/related", [["limit", String(limit)]]);
    }

    /* One request tells whether the API has related articles: a 404 for an
       article it has just returned means it has no such endpoint. */
    function probeRelated(id) {
      relatedSupported = false;
      getJson(relatedUrl(id, 1))
        .then(function (answer) {
          if (answer.status === 200 && answer.body && Array.isArray(answer.body.hits)) {
            relatedSupported = true;
            renderHits(lastHits);
          } else if (answer.status !== 404) {
            relatedSupported = null; // ask again with the next results
          }
        })
        .catch(function () {
          relatedSupported = null;
        });
    }

    function relatedToggle(hit, item) {
      var box = document.createElement("div");
      box.className = "tk-related";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "tk-related-toggle";
      button.textContent = "Tin liên quan";
      button.setAttribute("aria-expanded", "false");
      var list = document.createElement("ul");
      list.className = "tk-related-list";
      list.id = "tk-related-" + hitsList.children.length;
      list.hidden = true;
      button.setAttribute("aria-controls", list.id);
      var loaded = false;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", open ? "true" : "false");
        list.hidden = !open;
        if (!open || loaded) return;
        loaded = true;
        list.setAttribute("aria-busy", "true");
        getJson(relatedUrl(hit.id, 5))
          .then(function (answer) {
            var found = answer.status === 200 && answer.body ? answer.body.hits : null;
            renderRelated(list, Array.isArray(found) ? found : null);
          })
          .catch(function () {
            renderRelated(list, null);
          });
      });
      box.appendChild(button);
      box.appendChild(list);
      return box;
    }

    function renderRelated(list, found) {
      list.removeAttribute("aria-busy");
      clear(list);
      if (!found || !found.length) {
        var none = document.createElement("li");
        none.className = "tk-related-none";
        none.textContent = found ? "Không có tin liên quan." : "Không tải được tin liên quan.";
        list.appendChild(none);
        return;
      }
      found.forEach(function (other) {
        var item = document.createElement("li");
        var href = safeUrl(other.url);
        var title = href ? document.createElement("a") : document.createElement("span");
        if (href) title.href = href;
        title.textContent = other.title || other.id || "";
        item.appendChild(title);
        if (other.date) {
          var time = document.createElement("time");
          time.dateTime = String(other.date);
          time.textContent = dayOf(String(other.date));
          item.appendChild(document.createTextNode(" "));
          item.appendChild(time);
        }
        list.appendChild(item);
      });
    }

    function renderFacets(found) {
      var years = found.year || {};
      var months = found.month;
      var categories =
        categoryCounts.key === countsKey() ? categoryCounts.counts : found.category || {};

      var yearItems = [facetButton("Tất cả các năm", null, !state.year, function () {
        setFilter({ year: "", month: "" });
      })];
      keysOf(years, state.year)
        .sort()
        .reverse()
        .forEach(function (year) {
          yearItems.push(
            facetButton(year, years[year], state.year === year, function () {
              setFilter({ year: year, month: "" });
            })
          );
        });
      fillFacet(facets.year, yearItems, Object.keys(years).length > 0 || !!state.year);

      // Months: only where the API counts them, and within one chosen year.
      var monthItems = [];
      if (months && state.year) {
        monthItems.push(
          facetButton("Cả năm " + state.year, null, !state.month, function () {
            setFilter({ month: "" });
          })
        );
        keysOf(months, state.month)
          .filter(function (month) {
            return month.slice(0, 4) === state.year;
          })
          .sort()
          .forEach(function (month) {
            monthItems.push(
              facetButton(monthLabel(month), months[month], state.month === month, function () {
                setFilter({ month: month });
              })
            );
          });
      }
      fillFacet(facets.month, monthItems, monthItems.length > 1);

      var categoryItems = keysOf(categories)
        .concat(
          state.categories.filter(function (name) {
            return !(name in categories);
          })
        )
        .sort(function (a, b) {
          return (categories[b] || 0) - (categories[a] || 0) || a.localeCompare(b, "vi");
        })
        .map(function (name, i) {
          return categoryBox(name, categories[name] || 0, i);
        });
      fillFacet(facets.category, categoryItems, categoryItems.length > 0);
    }

    function facetButton(label, count, pressed, onClick) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "tk-facet-button";
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      var text = document.createElement("span");
      text.textContent = label;
      button.appendChild(text);
      if (count !== null) button.appendChild(countBadge(count));
      button.addEventListener("click", onClick);
      item.appendChild(button);
      return item;
    }

    function categoryBox(name, count, i) {
      var item = document.createElement("li");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.id = "tk-category-" + i;
      box.className = "tk-facet-check";
      box.checked = state.categories.indexOf(name) >= 0;
      box.addEventListener("change", function () {
        var chosen = state.categories.filter(function (other) {
          return other !== name;
        });
        if (box.checked) chosen = manyCategories ? chosen.concat([name]) : [name];
        setFilter({ categories: chosen });
      });
      var label = document.createElement("label");
      label.htmlFor = box.id;
      var text = document.createElement("span");
      text.textContent = name;
      label.appendChild(text);
      label.appendChild(countBadge(count));
      item.appendChild(box);
      item.appendChild(label);
      return item;
    }

    function countBadge(count) {
      var badge = document.createElement("span");
      badge.className = "tk-count";
      badge.textContent = NUMBER.format(count);
      return badge;
    }

    function fillFacet(section, items, show) {
      var list = section.querySelector("ul");
      clear(list);
      items.forEach(function (item) {
        list.appendChild(item);
      });
      section.hidden = !show;
    }

    function setFilter(change) {
      Object.keys(change).forEach(function (key) {
        state[key] = change[key];
      });
      state.page = 1;
      runSearch();
    }

    function renderPages(pages) {
      clear(pagesNav);
      if (pages <= 1) {
        pagesNav.hidden = true;
        return;
      }
      var list = document.createElement("ul");
      list.appendChild(pageButton("‹ Trước", state.page - 1, pages, "tk-page-prev", "Trang trước"));
      pageWindow(state.page, pages).forEach(function (number) {
        if (number === null) {
          var gap = document.createElement("li");
          gap.className = "tk-page-gap";
          gap.textContent = "…";
          list.appendChild(gap);
        } else {
          list.appendChild(pageButton(String(number), number, pages, "", "Trang " + number));
        }
      });
      list.appendChild(pageButton("Sau ›", state.page + 1, pages, "tk-page-next", "Trang sau"));
      pagesNav.appendChild(list);
      pagesNav.hidden = false;
    }

    function pageButton(label, number, pages, extraClass, name) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = ("tk-page " + extraClass).trim();
      button.textContent = label;
      button.setAttribute("aria-label", name);
      if (number === state.page && !extraClass) button.setAttribute("aria-current", "page");
      if (number < 1 || number > pages || number === state.page) button.disabled = true;
      button.addEventListener("click", function () {
        state.page = number;
        focusResults = true;
        runSearch();
      });
      item.appendChild(button);
      return item;
    }

    // -- the location keeps the search, so it can be bookmarked and shared ----------

    function saveInLocation() {
      var params = new URLSearchParams(window.location.search);
      ["q", "year", "month", "category", "sort", "page"].forEach(function (key) {
        params.delete(key);
      });
      if (state.q) params.set("q", state.q);
      if (state.year) params.set("year", state.year);
      if (state.month) params.set("month", state.month);
      state.categories.forEach(function (name) {
        params.append("category", name);
      });
      if (state.sort !== "relevance") params.set("sort", state.sort);
      if (state.page > 1) params.set("page", String(state.page));
      var query = params.toString();
      window.history.replaceState(
        null,
        "",
        window.location.pathname + (query ? "?" + query : "") + window.location.hash
      );
    }

    function loadFromLocation() {
      var params = new URLSearchParams(window.location.search);
      state.q = (params.get("q") || "").trim();
      input.value = state.q;
      state.year = /^\d{4}$/.test(params.get("year") || "") ? params.get("year") : "";
      var month = params.get("month") || "";
      if (/^\d{4}-\d{2}$/.test(month)) {
        state.month = month;
        state.year = month.slice(0, 4);
      }
      state.categories = params.getAll("category").filter(Boolean);
      state.sort = ["newest", "oldest"].indexOf(params.get("sort")) >= 0 ? params.get("sort") : "relevance";
      state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    }

    // -- events ---------------------------------------------------------------------

    input.addEventListener("input", function () {
      clearTimeout(suggestTimer);
      clearTimeout(searchTimer);
      suggestTimer = setTimeout(fetchSuggestions, SUGGEST_DELAY_MS);
      searchTimer = setTimeout(function () {
        newQuery();
        runSearch();
      }, SEARCH_DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var count = options.length;
      switch (event.key) {
        case "ArrowDown":
          if (!count) return;
          event.preventDefault();
          if (!isOpen()) {
            openList();
            if (event.altKey) return;
          }
          setActive(active < count - 1 ? active + 1 : 0);
          break;
        case "ArrowUp":
          if (!count) return;
          event.preventDefault();
          if (!isOpen()) openList();
          setActive(active > 0 ? active - 1 : count - 1);
          break;
        case "Enter":
          if (isOpen() && active >= 0) {
            event.preventDefault();
            choose(active);
          }
          break; // otherwise the form is submitted
        case "Escape":
          if (isOpen()) {
            event.preventDefault();
            closeList();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            renderSuggestions([]);
          }
          break;
        case "Tab":
          closeList();
          break;
        default:
          break;
      }
    });

    input.addEventListener("blur", closeList);
    input.addEventListener("focus", openList);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(suggestTimer);
      suggestSeq++;
      closeList();
      searchNow();
    });

    sortSelect.addEventListener("change", function () {
      setFilter({ sort: sortSelect.value });
    });

    loadFromLocation();
    runSearch();
  }

  // -- helpers ------------------------------------------------------------------------

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function clear(element) {
    while (element.firstChild) element.removeChild(element.firstChild);
  }

  function keysOf(counts, alsoKey) {
    var keys = Object.keys(counts || {});
    if (alsoKey && keys.indexOf(alsoKey) < 0) keys.push(alsoKey);
    return keys;
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : null;
    } catch (e) {
      return null;
    }
  }

  /* The page numbers to show: the first, the last and two either side of the
     current one; null where numbers are left out. */
  function pageWindow(current, pages) {
    var shown = [];
    for (var n = 1; n <= pages; n++) {
      if (n === 1 || n === pages || Math.abs(n - current) <= 2) shown.push(n);
      else if (shown[shown.length - 1] !== null) shown.push(null);
    }
    return shown;
  }

  function dayOf(iso) {
    var match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
    return match ? match[3] + "/" + match[2] + "/" + match[1] : iso;
  }

  function monthLabel(month) {
    var parts = month.split("-");
    return "Tháng " + parseInt(parts[1], 10) + "/" + parts[0];
  }

  /* The snippet's text and <mark> elements, and nothing else. */
  function appendSnippet(target, html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    (function copy(from, to) {
      from.childNodes.forEach(function (node) {
        if (node.nodeType === Node.TEXT_NODE) {
          to.appendChild(document.createTextNode(node.nodeValue));
        } else if (node.nodeType === Node.ELEMENT_NODE) {
          if (node.nodeName === "MARK") {
            var mark = document.createElement("mark");
            mark.textContent = node.textContent;
            to.appendChild(mark);
          } else if (node.nodeName !== "SCRIPT" && node.nodeName !== "STYLE") {
            copy(node, to);
          }
        }
      });
    })(parsed.body, target);
  }

  function start() {
    var root = document.getElementById("timkiem");
    if (root) init(root);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
