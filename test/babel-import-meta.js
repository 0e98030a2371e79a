/**
 * Babel plugin for Jest only: rewrites import.meta in ES-module dependencies compiled to CommonJS.
 * It avoids `require` on purpose: Nest declares `const require = createRequire(import.meta.url)`, which
 * would shadow it.
 */
module.exports = function importMetaToCommonJs({ types: t }) {
  const replacements = {
    url: () => t.binaryExpression('+', t.stringLiteral('file://'), t.identifier('__filename')),
    filename: () => t.identifier('__filename'),
    dirname: () => t.identifier('__dirname'),
    resolve: () => t.memberExpression(t.identifier('require'), t.identifier('resolve')),
  };
  return {
    visitor: {
      MemberExpression(path) {
        const { object, property } = path.node;
        if (!t.isMetaProperty(object) || object.meta.name !== 'import') return;
        const replace = replacements[property.name];
        if (replace) path.replaceWith(replace());
      },
    },
  };
};
