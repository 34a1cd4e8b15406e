// The list of campaigns counts what is selected in campaigns ("2 campaigns selected"), not
// Wagtail's "pages" (its bulk-actions script reads these strings when boxes are ticked).
(function () {
  const config = window.wagtailConfig;
  if (!config || !config.STRINGS || !config.STRINGS.BULK_ACTIONS) return;
  config.STRINGS.BULK_ACTIONS.CAMPAIGN = {
    SINGULAR: '1 campaign selected',
    PLURAL: '%(objects)s campaigns selected',
    ALL: 'All %(objects)s campaigns on this screen selected',
    ALL_IN_LISTING: 'Every campaign in the list selected',
  };
})();
